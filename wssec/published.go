package wssec

import "time"

// RetainedKey is a retained key with the time from which it may be
// removed (zero: no expiry yet), for the replace function of
// [NewPublishedKeyRing].
type RetainedKey struct {
	Key
	Until time.Time
}

// replace sets the whole ring in one step for the replace function of
// [NewPublishedKeyRing].
func (r *KeyRing) replace(current Key, retained []RetainedKey, commit func(func([]*ringEntry) ([]*ringEntry, error)) error) error {
	next := make([]*ringEntry, 0, len(retained)+1)
	e, err := r.newEntry(current, StatusCurrent, time.Time{})
	if err != nil {
		return err
	}
	next = append(next, e)
	for _, k := range retained {
		e, err := r.newEntry(k.Key, StatusRetained, k.Until)
		if err != nil {
			return err
		}
		next = append(next, e)
	}
	return commit(func(old []*ringEntry) ([]*ringEntry, error) {
		kept := make(map[Fingerprint]*usage, len(old))
		for _, x := range old {
			kept[x.fp] = x.usage
		}
		for _, e := range next {
			if u, ok := kept[e.fp]; ok {
				e.usage = u
			}
		}
		return next, nil
	})
}

// NewPublishedKeyRing returns a ring for the holder of the authoritative
// ring state, such as a key store, to hand out, and replace, the only
// function that changes it, for that holder alone. The ring decrypts like
// any other, but its own changing methods ([KeyRing.Retain],
// [KeyRing.Rotate], [KeyRing.SetExpiry], [KeyRing.Remove]) refuse with
// [ErrReadOnlyRing], so code that was handed the ring cannot drop a key
// from it behind the owner's back. The ring starts as replace would set
// it.
//
// replace sets the whole ring in one step: current becomes the current
// key and retained the retained keys, in that order, published as one
// snapshot so that no decryption sees a ring in between. Keys that stay
// keep their usage counts. It does not apply the retention rule to the
// keys it drops: that rule was checked where the change was made, such as
// by a key store that reloads what another process committed. It returns
// [ErrInvalidKey] or [ErrDuplicateKey] and then leaves the ring as it
// was. It does not modify its arguments and is safe for concurrent use.
//
// NewPublishedKeyRing returns [ErrInvalidKey] or [ErrDuplicateKey]. It
// does not modify its arguments.
func NewPublishedKeyRing(current Key, retained []RetainedKey, opts RingOptions) (ring *KeyRing, replace func(current Key, retained []RetainedKey) error, err error) {
	r, err := NewKeyRingOptions(current, opts)
	if err != nil {
		return nil, nil, err
	}
	replace = func(current Key, retained []RetainedKey) error {
		return r.replace(current, retained, r.apply)
	}
	if len(retained) > 0 {
		if err := replace(current, retained); err != nil {
			return nil, nil, err
		}
	}
	r.readOnly = true // before anyone else sees r
	return r, replace, nil
}
