package wssec

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Status is the role of a key in the ring.
type Status int

// Key statuses.
const (
	// StatusCurrent marks the one key receivers are told to encrypt to.
	StatusCurrent Status = iota + 1
	// StatusRetained marks a key kept to decrypt messages that receivers
	// encrypted to it, until its expiry.
	StatusRetained
)

func (s Status) String() string {
	switch s {
	case StatusCurrent:
		return "current"
	case StatusRetained:
		return "retained"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Entry describes one key of the ring at the time of a [KeyRing.Snapshot].
// It holds no private key material.
type Entry struct {
	Name        string
	Certificate *x509.Certificate
	Fingerprint Fingerprint
	Status      Status
	// Expires is when a retained key may be removed. Zero means no expiry
	// yet: a receiver may still encrypt to it. Always zero for the current
	// key.
	Expires time.Time
	// LastUsed is when the key last decrypted a message that was
	// accepted as a whole (see [Decryptor.Decrypt]); zero if never. A
	// message refused after its key was used (a signature that does not
	// verify, an unmet requirement) leaves no trace here.
	LastUsed time.Time
	// Uses counts the accepted messages the key decrypted since the ring
	// was built.
	Uses uint64
}

// RingOptions configures a [KeyRing]. The zero value is the default.
type RingOptions struct {
	// Now is the clock for usage times and expiry checks. If nil,
	// time.Now.
	Now func() time.Time

	// AllowWeakRetainedKey lets the ring keep an RSA key of 1024 to 2047
	// bits as a retained key, so that a renewal away from such a key
	// keeps decrypting the messages encrypted to it until its expiry. A
	// current key, and a key promoted to current, always needs 2048 bits.
	// If false (the default), every key needs 2048 bits. A 1024-bit RSA
	// key is within reach of a well-funded attacker who factors it and
	// then reads every message ever encrypted to it; keep such a key only
	// for the retention period and remove it when that ends.
	AllowWeakRetainedKey bool

	// Publish, if not nil, is for the holder of the authoritative ring
	// state, such as a key store: the ring is then read-only for whoever
	// it is handed to (its changing methods [KeyRing.Retain],
	// [KeyRing.Rotate], [KeyRing.SetExpiry] and [KeyRing.Remove] refuse
	// with [ErrReadOnlyRing], so nobody drops a key behind the owner's
	// back), and Publish is called once, before the ring is returned,
	// with replace, the only function that changes it.
	//
	// replace sets the whole ring in one step: current becomes the
	// current key and retained the retained keys, in that order,
	// published as one snapshot so that no decryption sees a ring in
	// between. Keys that stay keep their usage counts. It does not apply
	// the retention rule to the keys it drops: that rule was checked where
	// the change was made, such as by a key store that reloads what
	// another process committed. It returns [ErrInvalidKey] or
	// [ErrDuplicateKey] and then leaves the ring as it was. It does not
	// modify its arguments and is safe for concurrent use.
	Publish func(replace func(current Key, retained []RetainedKey) error)
}

// KeyRing holds the current decryption key and the retained ones, each
// retained key with an expiry.
//
// Invariants, checked by every change before it is published: exactly one
// current key (a ring [NewKeyRing] built from an invalid key has none, and
// every decryption fails with [KeyRing.Err] until [KeyRing.Rotate]); the current key has no expiry; no
// certificate appears twice; a retained key is removed only after its
// expiry, which is set explicitly.
//
// A KeyRing is safe for concurrent use. Decryption reads an immutable
// snapshot of the ring through an atomic pointer, so changes never block
// or tear a decryption in progress; changes are serialized among
// themselves.
type KeyRing struct {
	mu   sync.Mutex // serializes changes; never held during decryption
	snap atomic.Pointer[ringSnapshot]
	now  func() time.Time
	// certOnly marks the ring inside a TrustRing: entries are certificates
	// without private keys.
	certOnly bool
	// readOnly marks a published ring: only the replace function handed
	// to RingOptions.Publish changes it.
	readOnly bool
	// allowWeakRetained is RingOptions.AllowWeakRetainedKey.
	allowWeakRetained bool
	// invalid is the error of the key NewKeyRing was given, if it had to
	// build the ring without it.
	invalid error
}

// NewKeyRing returns a ring whose current key is current, with the default
// [RingOptions]. If current is not a valid key, the ring carries the
// [*KeyError] ([ErrInvalidKey]) that says why: [KeyRing.Err] returns it,
// and every [Decryptor.Decrypt] with the ring fails with it until
// [KeyRing.Rotate] gives the ring a valid current key.
// [NewKeyRingOptions] returns the error instead.
func NewKeyRing(current Key) *KeyRing {
	r, err := NewKeyRingOptions(current, RingOptions{})
	if err != nil {
		r = &KeyRing{now: time.Now, invalid: err}
		r.snap.Store(mustSnapshot(nil))
	}
	return r
}

// Err returns why the ring has no current key: the error of the key
// [NewKeyRing] was given. It returns nil once the ring has a current key,
// and for a nil ring.
func (r *KeyRing) Err() error {
	if r == nil || r.invalid == nil || r.load().currentIdx >= 0 {
		return nil
	}
	return r.invalid
}

// NewKeyRingOptions returns a ring whose current key is current, built
// with opts (a read-only ring for its owner with [RingOptions.Publish]).
// It returns [ErrInvalidKey] (as a [*KeyError]) if the key cannot
// decrypt.
func NewKeyRingOptions(current Key, opts RingOptions) (*KeyRing, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	r := &KeyRing{now: now, allowWeakRetained: opts.AllowWeakRetainedKey}
	e, err := r.newEntry(current, StatusCurrent, time.Time{})
	if err != nil {
		return nil, err
	}
	s, err := buildSnapshot([]*ringEntry{e})
	if err != nil {
		return nil, err
	}
	r.snap.Store(s)
	r.publish(opts)
	return r, nil
}

// newEntry validates k for its status: a current key needs minRSABits, a
// retained one weakRSABits when the ring allows weak retained keys.
func (r *KeyRing) newEntry(k Key, status Status, expires time.Time) (*ringEntry, error) {
	minBits := minRSABits
	if r != nil && r.allowWeakRetained && status == StatusRetained {
		minBits = weakRSABits
	}
	var pub *rsa.PublicKey
	var err error
	if r != nil && r.certOnly {
		pub, err = validateSignerBits(k.Certificate, minBits)
	} else {
		pub, err = k.validate(minBits)
	}
	if err != nil {
		return nil, err
	}
	return &ringEntry{key: k, pub: pub, fp: FingerprintOf(k.Certificate), status: status, expires: expires, usage: new(usage)}, nil
}

// load returns the snapshot decryption works on.
func (r *KeyRing) load() *ringSnapshot {
	if r == nil {
		return mustSnapshot(nil)
	}
	s := r.snap.Load()
	if s == nil { // a zero KeyRing
		return mustSnapshot(nil)
	}
	return s
}

// update applies f to a copy of the entries and publishes the result if it
// keeps the invariants.
func (r *KeyRing) update(f func(entries []*ringEntry) ([]*ringEntry, error)) error {
	if r != nil && r.readOnly {
		return &KeyError{Reason: "change the store that publishes it", Err: ErrReadOnlyRing}
	}
	return r.apply(f)
}

// apply is update without the read-only check, for the ring's publisher.
func (r *KeyRing) apply(f func(entries []*ringEntry) ([]*ringEntry, error)) error {
	if r == nil {
		return &KeyError{Reason: "nil KeyRing", Err: ErrInvalidArgument}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	next, err := f(append([]*ringEntry(nil), old.entries...))
	if err != nil {
		return err
	}
	s, err := buildSnapshot(next)
	if err != nil {
		return err
	}
	r.snap.Store(s)
	return nil
}

func (r *KeyRing) clock() time.Time {
	if r == nil || r.now == nil {
		return time.Now()
	}
	return r.now()
}

// Retain adds k as a retained key that may be removed from until on. A
// zero until means no expiry yet: the key stays until [KeyRing.SetExpiry]
// gives it one. Retain returns [ErrInvalidKey] or [ErrDuplicateKey]. It does
// not modify k. It is safe for concurrent use.
func (r *KeyRing) Retain(k Key, until time.Time) error {
	e, err := r.newEntry(k, StatusRetained, until)
	if err != nil {
		return err
	}
	return r.update(func(entries []*ringEntry) ([]*ringEntry, error) {
		return append(entries, e), nil
	})
}

// Rotate makes next the current key. The previous current key stays in the
// ring as a retained key with no expiry, since receivers may still encrypt
// to it. If next is already in the ring as a retained key, it is promoted
// (this is how a renewal is rolled back) and keeps its usage counts.
// Rotate returns [ErrInvalidKey], or [ErrCurrentKey] if next is already
// current. It is safe for concurrent use.
func (r *KeyRing) Rotate(next Key) error {
	e, err := r.newEntry(next, StatusCurrent, time.Time{})
	if err != nil {
		return err
	}
	return r.update(func(entries []*ringEntry) ([]*ringEntry, error) {
		out := make([]*ringEntry, 0, len(entries)+1)
		for _, x := range entries {
			switch {
			case x.fp == e.fp && x.status == StatusCurrent:
				return nil, &KeyError{Fingerprint: e.fp, Err: ErrCurrentKey}
			case x.fp == e.fp:
				e.usage = x.usage // promotion of a retained key
			case x.status == StatusCurrent:
				out = append(out, x.with(StatusRetained, time.Time{}))
			default:
				out = append(out, x)
			}
		}
		return append([]*ringEntry{e}, out...), nil
	})
}

// SetExpiry sets when the retained key with certificate cert may be
// removed. A zero until clears the expiry again. SetExpiry returns
// [ErrKeyNotFound], or [ErrCurrentKey] for the current key, which never
// expires. It is safe for concurrent use.
func (r *KeyRing) SetExpiry(cert *x509.Certificate, until time.Time) error {
	fp := FingerprintOf(cert)
	return r.update(func(entries []*ringEntry) ([]*ringEntry, error) {
		for i, x := range entries {
			if x.fp != fp {
				continue
			}
			if x.status == StatusCurrent {
				return nil, &KeyError{Fingerprint: fp, Reason: "the current key has no expiry", Err: ErrCurrentKey}
			}
			entries[i] = x.with(StatusRetained, until)
			return entries, nil
		}
		return nil, &KeyError{Fingerprint: fp, Err: ErrKeyNotFound}
	})
}

// Remove removes the retained key with certificate cert. It is refused with
// a [*KeyError] for [ErrRetentionNotElapsed], with AllowedAt, while the key has no
// expiry or its expiry lies after the ring's clock, and with
// [ErrCurrentKey] for the current key; [ErrKeyNotFound] if the ring does
// not hold it. It is safe for concurrent use.
func (r *KeyRing) Remove(cert *x509.Certificate) error {
	fp := FingerprintOf(cert)
	now := r.clock()
	return r.update(func(entries []*ringEntry) ([]*ringEntry, error) {
		for i, x := range entries {
			if x.fp != fp {
				continue
			}
			if x.status == StatusCurrent {
				return nil, &KeyError{Fingerprint: fp, Reason: "the current key cannot be removed", Err: ErrCurrentKey}
			}
			if x.expires.IsZero() || now.Before(x.expires) {
				return nil, &KeyError{Fingerprint: fp, AllowedAt: x.expires, Err: ErrRetentionNotElapsed}
			}
			return append(entries[:i], entries[i+1:]...), nil
		}
		return nil, &KeyError{Fingerprint: fp, Err: ErrKeyNotFound}
	})
}

// Current returns the current key, and false if the ring has none (it was
// built from an invalid key).
func (r *KeyRing) Current() (Key, bool) {
	s := r.load()
	if s.currentIdx < 0 {
		return Key{}, false
	}
	return s.entries[s.currentIdx].key, true
}

// Snapshot returns every entry of the ring, the current key first, then the
// retained keys in the order they were added. The slice is fresh; the
// certificates are shared and must not be modified.
func (r *KeyRing) Snapshot() []Entry {
	s := r.load()
	out := make([]Entry, len(s.entries))
	for i, e := range s.entries {
		out[i] = Entry{
			Name:        e.key.Name,
			Certificate: e.key.Certificate,
			Fingerprint: e.fp,
			Status:      e.status,
			Expires:     e.expires,
			Uses:        e.usage.count.Load(),
		}
		if ns := e.usage.last.Load(); ns != 0 {
			out[i].LastUsed = time.Unix(0, ns).UTC()
		}
	}
	return out
}

// recordUse counts one decryption by e.
func (r *KeyRing) recordUse(e *ringEntry) {
	e.usage.count.Add(1)
	e.usage.last.Store(r.clock().UnixNano())
}
