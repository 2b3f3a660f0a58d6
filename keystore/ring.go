package keystore

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// forcedExpiryUnix is the expiry, in Unix seconds, given to a key the
// ring still holds but the manifest no longer does, so that the ring lets
// it go: the writer that removed it from the manifest checked the
// retention rule with its own clock.
const forcedExpiryUnix = 1

// syncRing brings the store's key ring in line with st: the first time st
// has a current key it builds the ring, afterwards it changes the same
// ring step by step, so that a Decryptor holding it follows. Keys are
// added before the current key changes and removed last, so every
// intermediate ring decrypts whatever the old or the new one does.
// Called with s.mu held.
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
	if err := reconcileRing(ring, st); err != nil {
		return fmt.Errorf("keystore: key ring: %w", err)
	}
	return nil
}

func reconcileRing(ring *wssec.KeyRing, st *storeState) error {
	want := map[wssec.Fingerprint]Entry{}
	for _, e := range st.m.entries {
		if e.Status.inRing() {
			want[e.Fingerprint] = e
		}
	}
	have := map[wssec.Fingerprint]wssec.Entry{}
	var ringCurrent wssec.Fingerprint
	for _, x := range ring.Snapshot() {
		have[x.Fingerprint] = x
		if x.Status == wssec.StatusCurrent {
			ringCurrent = x.Fingerprint
		}
	}
	// 1. Keys the ring lacks, except a new current key, which Rotate adds.
	for fp, e := range want {
		if _, ok := have[fp]; !ok && e.Status == StatusRetained {
			if err := ring.Retain(st.keys[e.Location].ringKey(e.Alias), e.Expires); err != nil {
				return err
			}
		}
	}
	// 2. The current key.
	cur, _ := st.m.current()
	if cur.Fingerprint != ringCurrent {
		if err := ring.Rotate(st.keys[cur.Location].ringKey(cur.Alias)); err != nil {
			return err
		}
	}
	// 3. Expiries, then 4. keys the manifest no longer holds.
	for _, x := range ring.Snapshot() {
		e, ok := want[x.Fingerprint]
		switch {
		case ok && e.Status == StatusRetained && !x.Expires.Equal(e.Expires):
			if err := ring.SetExpiry(x.Certificate, e.Expires); err != nil {
				return err
			}
		case !ok:
			err := ring.Remove(x.Certificate)
			if errors.Is(err, wssec.ErrRetentionNotElapsed) {
				if err = ring.SetExpiry(x.Certificate, time.Unix(forcedExpiryUnix, 0)); err == nil {
					err = ring.Remove(x.Certificate)
				}
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
