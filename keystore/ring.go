package keystore

import (
	"fmt"

	"github.com/wsrenew/wsrenew/wssec"
)

// syncRing brings the store's key ring in line with st: the first time st
// has a current key it builds the ring, afterwards it replaces the same
// ring's contents in one atomic step, so that a Decryptor holding it
// follows and never sees a state in between. Called with s.mu held.
func (s *Store) syncRing(st *storeState) error {
	cur, ok := st.m.current()
	ring := s.ring.Load()
	if ring == nil {
		if !ok {
			return nil
		}
		r, err := wssec.NewKeyRingOptions(st.keys[cur.Location].ringKey(cur.Alias), wssec.RingOptions{Now: s.opts.Now})
		if err != nil {
			return fmt.Errorf("keystore: key ring: %w", err)
		}
		for _, e := range st.m.entries {
			if e.Status == StatusRetained {
				if err := r.Retain(st.keys[e.Location].ringKey(e.Alias), e.Expires); err != nil {
					return fmt.Errorf("keystore: key ring: %w", err)
				}
			}
		}
		s.ring.Store(r)
		return nil
	}
	if !ok {
		return fmt.Errorf("%w: the manifest lost the current key of the running key ring", ErrNoCurrentKey)
	}
	var retained []wssec.RetainedKey
	for _, e := range st.m.entries {
		if e.Status == StatusRetained {
			retained = append(retained, wssec.RetainedKey{Key: st.keys[e.Location].ringKey(e.Alias), Until: e.Expires})
		}
	}
	if err := ring.Replace(st.keys[cur.Location].ringKey(cur.Alias), retained); err != nil {
		return fmt.Errorf("keystore: key ring: %w", err)
	}
	return nil
}
