package wssec

import "time"

// RetainedKey is a retained key with the time from which it may be
// removed (zero: no expiry yet), for the replace function that
// [RingOptions.Publish] receives.
type RetainedKey struct {
	Key
	Until time.Time
}

// replace sets the whole ring in one step for the replace function that
// [RingOptions.Publish] receives.
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

// publish makes r read-only and hands its replace function to
// opts.Publish, if set, before anyone else sees r.
func (r *KeyRing) publish(opts RingOptions) {
	if opts.Publish == nil {
		return
	}
	r.readOnly = true
	opts.Publish(func(current Key, retained []RetainedKey) error {
		return r.replace(current, retained, r.apply)
	})
}
