package keystore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// ringFingerprints lists the ring's keys, current first.
func ringFingerprints(r *wssec.KeyRing) []wssec.Fingerprint {
	var out []wssec.Fingerprint
	for _, e := range r.Snapshot() {
		out = append(out, e.Fingerprint)
	}
	return out
}

func TestStore_KeyRingReadOnly(t *testing.T) {
	t.Parallel()
	s, clock, dir := ringStore(t)
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatalf("KeyRing() error = %v", err)
	}
	old := testpki.Load(testpki.Old).Certificate
	want := []wssec.Fingerprint{fingerprint(testpki.New), fingerprint(testpki.Old)}
	changes := []struct {
		name string
		fn   func() error
	}{
		{"SetExpiry", func() error { return ring.SetExpiry(old, t0) }},
		{"Remove", func() error { return ring.Remove(old) }},
	}
	for _, c := range changes {
		if err := c.fn(); !errors.Is(err, wssec.ErrReadOnlyRing) {
			t.Errorf("%s on the store's ring error = %v, want %v", c.name, err, wssec.ErrReadOnlyRing)
		}
	}
	if diff := cmp.Diff(want, ringFingerprints(ring)); diff != "" {
		t.Fatalf("ring (-want +got):\n%s", diff)
	}

	// Another process removes the old key; Reload shows it in the same ring.
	other := openTestStore(t, dir, clock)
	expires := clock.Now().Add(91 * 24 * time.Hour) // past the store's retention floor
	mustUpdate(t, other, func(tx *Tx) error { return tx.Retain("old", expires) })
	clock.Advance(92 * 24 * time.Hour)
	mustUpdate(t, other, func(tx *Tx) error { return tx.Remove("old") })
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatalf("Reload() error = %v", err)
	}
	if diff := cmp.Diff(want[:1], ringFingerprints(ring)); diff != "" {
		t.Errorf("ring after Reload (-want +got):\n%s", diff)
	}
}
