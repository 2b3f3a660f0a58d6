package keystore

import (
	"fmt"
	"slices"

	"github.com/wsrenew/wsrenew/wssec"
)

// syncRing brings the store's key ring in line with st: the first time st
// has a current key it builds the ring, afterwards it replaces the same
// ring's contents in one atomic step, so that a Decryptor holding it
// follows and never sees a state in between. The ring is published
// read-only: only the store changes it, so it always shows what the
// store committed or read last. Called with s.mu held.
func (s *Store) syncRing(st *storeState) error {
	cur, ok := st.m.current()
	if !ok {
		if s.ring.Load() == nil {
			return nil
		}
		return fmt.Errorf("%w: the manifest lost the current key of the running key ring", ErrNoCurrentKey)
	}
	if bits := rsaBits(cur.Certificate); bits < minRSABits {
		// A weak key in use, imported to be renewed away from: no ring
		// takes it as current ([Store.KeyRing] says why).
		if s.ring.Load() == nil {
			return nil
		}
		return weakKeyError(cur.Alias, bits, true, "key ring")
	}
	var retained []wssec.RetainedKey
	for _, e := range retainedNewestFirst(st) {
		retained = append(retained, wssec.RetainedKey{Key: st.keys[e.Location].ringKey(e.Alias), Until: e.Expires})
	}
	current := st.keys[cur.Location].ringKey(cur.Alias)
	if s.replace == nil {
		var replace func(wssec.Key, []wssec.RetainedKey) error
		r, err := wssec.NewKeyRingOptions(current, wssec.RingOptions{Now: s.opts.Now, AllowWeakRetainedKey: s.opts.AllowWeakRetainedKey,
			Publish: func(f func(wssec.Key, []wssec.RetainedKey) error) { replace = f }})
		if err == nil && len(retained) > 0 {
			err = replace(current, retained)
		}
		if err != nil {
			return fmt.Errorf("keystore: key ring: %w", err)
		}
		s.replace = replace
		s.ring.Store(r)
		return nil
	}
	if err := s.replace(current, retained); err != nil {
		return fmt.Errorf("keystore: key ring: %w", err)
	}
	return nil
}

// retainedNewestFirst lists the retained entries, the most recently created
// first: the order in which trial decryption tries them, since a receiver
// that has not switched yet most likely uses the key that was replaced
// last.
func retainedNewestFirst(st *storeState) []Entry {
	var out []Entry
	for i := len(st.m.entries) - 1; i >= 0; i-- { // later additions first on equal times
		if e := st.m.entries[i]; e.Status == StatusRetained {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return b.Created.Compare(a.Created) })
	return out
}
