package wssec_test

import (
	"errors"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

var legacyID = testpki.Load(testpki.Legacy)

// TestKeyRing_keySize checks the one key-size rule: a current key has at
// least 2048 bits; a weaker key is kept only as a retained key, and only
// with RingOptions.AllowWeakRetainedKey.
func TestKeyRing_keySize(t *testing.T) {
	t.Parallel()
	weak := keyOf(legacyID)
	tests := []struct {
		name    string
		opts    wssec.RingOptions
		change  func(r *wssec.KeyRing) error
		wantErr error
	}{
		{"retain weak refused by default", wssec.RingOptions{}, func(r *wssec.KeyRing) error { return r.Retain(weak, time.Time{}) }, wssec.ErrInvalidKey},
		{"retain weak allowed", wssec.RingOptions{AllowWeakRetainedKey: true}, func(r *wssec.KeyRing) error { return r.Retain(weak, time.Time{}) }, nil},
		{"rotate to weak refused", wssec.RingOptions{AllowWeakRetainedKey: true}, func(r *wssec.KeyRing) error { return r.Rotate(weak) }, wssec.ErrInvalidKey},
		{"promote weak refused", wssec.RingOptions{AllowWeakRetainedKey: true}, func(r *wssec.KeyRing) error {
			if err := r.Retain(weak, time.Time{}); err != nil {
				return err
			}
			return r.Rotate(weak)
		}, wssec.ErrInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := wssec.NewKeyRingOptions(keyOf(newID), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.change(r); !errors.Is(err, tc.wantErr) {
				t.Fatalf("%s: error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
	if _, err := wssec.NewKeyRingOptions(weak, wssec.RingOptions{AllowWeakRetainedKey: true}); !errors.Is(err, wssec.ErrInvalidKey) {
		t.Fatalf("NewKeyRingOptions(weak) error = %v, want %v", err, wssec.ErrInvalidKey)
	}
	replaces := []struct {
		name     string
		opts     wssec.RingOptions
		current  wssec.Key
		retained []wssec.RetainedKey
		wantErr  error
	}{
		{"weak current refused", wssec.RingOptions{AllowWeakRetainedKey: true}, weak, nil, wssec.ErrInvalidKey},
		{"weak retained refused by default", wssec.RingOptions{}, keyOf(newID), []wssec.RetainedKey{{Key: weak}}, wssec.ErrInvalidKey},
		{"weak retained allowed", wssec.RingOptions{AllowWeakRetainedKey: true}, keyOf(newID), []wssec.RetainedKey{{Key: weak}}, nil},
	}
	for _, tc := range replaces {
		_, replace, err := publishedRing(keyOf(newID), nil, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := replace(tc.current, tc.retained); !errors.Is(err, tc.wantErr) {
			t.Errorf("Replace(%s) error = %v, want %v", tc.name, err, tc.wantErr)
		}
		if _, _, err := publishedRing(tc.current, tc.retained, tc.opts); !errors.Is(err, tc.wantErr) {
			t.Errorf("publishedRing(%s) error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

// TestDecrypt_weakRetainedKey renews away from a 1024-bit key: messages
// still encrypted to it decrypt until it is removed.
func TestDecrypt_weakRetainedKey(t *testing.T) {
	t.Parallel()
	r, err := wssec.NewKeyRingOptions(keyOf(newID), wssec.RingOptions{AllowWeakRetainedKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Retain(keyOf(legacyID), time.Time{}); err != nil {
		t.Fatalf("Retain(legacy) error = %v", err)
	}
	d := &wssec.Decryptor{Keys: r}
	msg := encrypt(t, &wssec.Encryptor{Certificate: legacyID.Certificate}, readTestdata(t, "response11.xml"))
	res, err := d.Decrypt(msg)
	if err != nil {
		t.Fatalf("Decrypt(to legacy key) error = %v", err)
	}
	if len(res.KeysUsed) != 1 || !res.KeysUsed[0].Equal(legacyID.Certificate) {
		t.Fatalf("Decrypt(to legacy key) KeysUsed = %v, want the legacy certificate", res.KeysUsed)
	}
}

// TestTrustRing_keySize applies the rule to signing certificates.
func TestTrustRing_keySize(t *testing.T) {
	t.Parallel()
	tr, err := wssec.NewTrustRing(receiverID.Certificate, wssec.RingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Retain(legacyID.Certificate, time.Time{}); !errors.Is(err, wssec.ErrInvalidKey) {
		t.Fatalf("Retain(legacy) error = %v, want %v", err, wssec.ErrInvalidKey)
	}
	tr, err = wssec.NewTrustRing(receiverID.Certificate, wssec.RingOptions{AllowWeakRetainedKey: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Retain(legacyID.Certificate, time.Time{}); err != nil {
		t.Fatalf("Retain(legacy) with AllowWeakRetainedKey error = %v", err)
	}
	if err := tr.Rotate(legacyID.Certificate); !errors.Is(err, wssec.ErrInvalidKey) {
		t.Fatalf("Rotate(legacy) error = %v, want %v", err, wssec.ErrInvalidKey)
	}
}
