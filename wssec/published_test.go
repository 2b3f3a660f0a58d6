package wssec_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// publishedRing builds a ring with opts.Publish, as a key store does, and
// sets its retained keys through the replace function it receives.
func publishedRing(current wssec.Key, retained []wssec.RetainedKey, opts wssec.RingOptions) (*wssec.KeyRing, func(wssec.Key, []wssec.RetainedKey) error, error) {
	var replace func(wssec.Key, []wssec.RetainedKey) error
	opts.Publish = func(f func(wssec.Key, []wssec.RetainedKey) error) { replace = f }
	r, err := wssec.NewKeyRingOptions(current, opts)
	if err != nil {
		return nil, nil, err
	}
	if replace == nil {
		return nil, nil, errors.New("Publish was not called")
	}
	if len(retained) > 0 {
		if err := replace(current, retained); err != nil {
			return nil, nil, err
		}
	}
	return r, replace, nil
}

// TestRingOptions_Publish_trustRing checks that a published trust ring is
// read-only too and follows its replace function.
func TestRingOptions_Publish_trustRing(t *testing.T) {
	t.Parallel()
	var replace func(wssec.Key, []wssec.RetainedKey) error
	tr, err := wssec.NewTrustRing(oldID.Certificate, wssec.RingOptions{Publish: func(f func(wssec.Key, []wssec.RetainedKey) error) { replace = f }})
	if err != nil || replace == nil {
		t.Fatalf("NewTrustRing(Publish) error = %v, replace set: %v", err, replace != nil)
	}
	if err := tr.Rotate(newID.Certificate); !errors.Is(err, wssec.ErrReadOnlyRing) {
		t.Errorf("Rotate on a published trust ring error = %v, want %v", err, wssec.ErrReadOnlyRing)
	}
	if err := replace(wssec.Key{Certificate: newID.Certificate}, []wssec.RetainedKey{{Key: wssec.Key{Certificate: oldID.Certificate}}}); err != nil {
		t.Fatalf("replace() error = %v", err)
	}
	if snap := tr.Snapshot(); len(snap) != 2 || snap[0].Fingerprint != wssec.FingerprintOf(newID.Certificate) {
		t.Errorf("after replace, Snapshot() = %+v", snap)
	}
}

func TestRingOptions_Publish_readOnly(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(t0)
	ring, replace, err := publishedRing(keyOf(newID), []wssec.RetainedKey{{Key: keyOf(oldID)}}, wssec.RingOptions{Now: clock.Now})
	if err != nil {
		t.Fatalf("publishedRing() error = %v", err)
	}
	changes := []struct {
		name string
		fn   func() error
	}{
		{"Retain", func() error { return ring.Retain(keyOf(strangerID), t0) }},
		{"Rotate", func() error { return ring.Rotate(keyOf(oldID)) }},
		{"SetExpiry", func() error { return ring.SetExpiry(oldID.Certificate, t0) }},
		{"Remove", func() error { return ring.Remove(oldID.Certificate) }},
	}
	for _, c := range changes {
		if err := c.fn(); !errors.Is(err, wssec.ErrReadOnlyRing) {
			t.Errorf("%s on a published ring error = %v, want %v", c.name, err, wssec.ErrReadOnlyRing)
		}
	}
	fps := func() []wssec.Fingerprint {
		var out []wssec.Fingerprint
		for _, e := range ring.Snapshot() {
			out = append(out, e.Fingerprint)
		}
		return out
	}
	if diff := cmp.Diff([]wssec.Fingerprint{wssec.FingerprintOf(newID.Certificate), wssec.FingerprintOf(oldID.Certificate)}, fps()); diff != "" {
		t.Fatalf("ring after refused changes (-want +got):\n%s", diff)
	}

	// replace changes it, and decryption follows.
	d := &wssec.Decryptor{Keys: ring}
	msg := encrypt(t, &wssec.Encryptor{Certificate: strangerID.Certificate}, readTestdata(t, "response11.xml"))
	if _, err := d.Decrypt(msg); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Fatalf("Decrypt before publishing error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}
	if err := replace(keyOf(strangerID), []wssec.RetainedKey{{Key: keyOf(newID)}}); err != nil {
		t.Fatalf("replace() error = %v", err)
	}
	if _, err := d.Decrypt(msg); err != nil {
		t.Fatalf("Decrypt after publishing error = %v", err)
	}
	if err := replace(wssec.Key{}, nil); !errors.Is(err, wssec.ErrInvalidKey) {
		t.Errorf("replace(zero key) error = %v, want %v", err, wssec.ErrInvalidKey)
	}
	if _, _, err := publishedRing(keyOf(newID), []wssec.RetainedKey{{Key: keyOf(newID)}}, wssec.RingOptions{}); !errors.Is(err, wssec.ErrDuplicateKey) {
		t.Errorf("publishedRing(duplicate) error = %v, want %v", err, wssec.ErrDuplicateKey)
	}
}
