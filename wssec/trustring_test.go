package wssec_test

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestTrustRing_expiry checks that a retained signer is trusted up to its
// expiry and not from it on, although it stays in the ring until removed.
func TestTrustRing_expiry(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	byOld := sign(t, plain, receiverID, signOpts{})
	byNew := sign(t, plain, receiverNewID, signOpts{})
	until := t0.Add(3 * time.Minute) // within the Timestamps' validity
	tests := []struct {
		name    string
		at      time.Time
		msg     []byte
		wantErr error
	}{
		{"retained, before expiry", until.Add(-time.Nanosecond), byOld, nil},
		{"retained, at expiry", until, byOld, wssec.ErrUntrustedSigner},
		{"retained, after expiry", until.Add(time.Second), byOld, wssec.ErrUntrustedSigner},
		{"current, after the other's expiry", until.Add(time.Second), byNew, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := fakeclock.New(tc.at)
			trust := trustRing(t, clk, receiverNewID.Certificate)
			if err := trust.Retain(receiverID.Certificate, until); err != nil {
				t.Fatal(err)
			}
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trust, Policy: wssec.Policy{AllowPlaintextBody: true}}
			if _, err := d.Decrypt(tc.msg); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if n := len(trust.Snapshot()); n != 2 {
				t.Errorf("Len() = %d after expiry, want 2: expiry ends trust, not membership", n)
			}
		})
	}

	// SetExpiry on a retained certificate ends its trust the same way.
	clk := fakeclock.New(t0.Add(time.Minute))
	trust := trustRing(t, clk, receiverNewID.Certificate, receiverID.Certificate)
	d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trust, Policy: wssec.Policy{AllowPlaintextBody: true}}
	if _, err := d.Decrypt(byOld); err != nil {
		t.Fatalf("Decrypt(retained, no expiry) error = %v", err)
	}
	if err := trust.SetExpiry(receiverID.Certificate, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decrypt(byOld); !errors.Is(err, wssec.ErrUntrustedSigner) {
		t.Fatalf("Decrypt(retained, expiry set to now) error = %v, want %v", err, wssec.ErrUntrustedSigner)
	}
}

// TestTrustRing_notAfter checks that a pinned signer certificate past its
// NotAfter is not trusted, current or retained, whatever the ring says.
func TestTrustRing_notAfter(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	notAfter := receiverID.Certificate.NotAfter
	created := notAfter.Add(-2 * time.Minute)
	msg := sign(t, plain, receiverID, signOpts{created: created, ttl: 10 * time.Minute})
	tests := []struct {
		name     string
		at       time.Time
		retained bool
		wantErr  error
	}{
		{"current, before NotAfter", notAfter.Add(-time.Minute), false, nil},
		{"current, at NotAfter", notAfter, false, nil},
		{"current, after NotAfter", notAfter.Add(time.Second), false, wssec.ErrUntrustedSigner},
		{"retained without expiry, after NotAfter", notAfter.Add(time.Second), true, wssec.ErrUntrustedSigner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := fakeclock.New(tc.at)
			certs := []*x509.Certificate{receiverID.Certificate}
			if tc.retained {
				certs = []*x509.Certificate{receiverNewID.Certificate, receiverID.Certificate}
			}
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trustRing(t, clk, certs...), Policy: wssec.Policy{AllowPlaintextBody: true}}
			if _, err := d.Decrypt(msg); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
}

// TestTrustRing_expiryAfterDecryption: a retained signer's expiry and its
// certificate's NotAfter also end trust for a signature that is checked
// on the decrypted envelope (sign-then-encrypt, and the Signature itself
// encrypted).
func TestTrustRing_expiryAfterDecryption(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	until := t0.Add(3 * time.Minute)
	msgs := map[string][]byte{
		"sign-then-encrypt":   encrypt(t, gcm, sign(t, plain, receiverID, signOpts{})),
		"encrypted Signature": encryptInSecurity(t, encrypt(t, gcm, sign(t, plain, receiverID, signOpts{})), "Signature", wssec.AES256GCM),
	}
	for name, msg := range msgs {
		for _, tc := range []struct {
			at      time.Time
			wantErr error
		}{{until.Add(-time.Second), nil}, {until, wssec.ErrUntrustedSigner}} {
			clk := fakeclock.New(tc.at)
			trust := trustRing(t, clk, receiverNewID.Certificate)
			if err := trust.Retain(receiverID.Certificate, until); err != nil {
				t.Fatal(err)
			}
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trust}
			if _, err := d.Decrypt(msg); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("%s at %v: Decrypt error = %v, want %v", name, tc.at.Sub(until), err, tc.wantErr)
			}
		}
	}
}
