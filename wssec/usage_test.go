package wssec_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestDecrypt_usageOnlyOnSuccess checks that a message refused after its
// key was used leaves no usage evidence, in the key ring or the trust
// ring: rollover reads that evidence, and an outsider replaying refused
// messages must not be able to postpone a retained key's removal.
func TestDecrypt_usageOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	toOld := func(alg wssec.DataEncryption, msg []byte) []byte {
		return encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, DataEncryption: alg}, msg)
	}
	badDigest := edit(t, signed, func(d *etree.Document) {
		d.FindElement("//DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	})
	tests := []struct {
		name     string
		msg      []byte
		policy   wssec.Policy
		at       time.Duration
		wantErr  error
		wantUses uint64
	}{
		{"accepted", toOld(wssec.AES256GCM, signed), wssec.Policy{}, 0, nil, 1},
		{"bad signature after decryption, GCM", toOld(wssec.AES256GCM, badDigest), wssec.Policy{}, 0, wssec.ErrSignatureInvalid, 0},
		{"bad signature after decryption, CBC", toOld(wssec.AES128CBC, badDigest), wssec.Policy{}, 0, wssec.ErrSignatureInvalid, 0},
		{"unmet requirement", toOld(wssec.AES256GCM, signed), wssec.Policy{RequireSignedEncryptedData: true}, 0, wssec.ErrSignatureInvalid, 0},
		{"unsigned", toOld(wssec.AES256GCM, plain), wssec.Policy{}, 0, wssec.ErrSignatureInvalid, 0},
		{"expired", toOld(wssec.AES256GCM, signed), wssec.Policy{}, time.Hour, wssec.ErrMessageExpired, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := fakeclock.New(t0.Add(time.Minute + tc.at))
			ring, err := wssec.NewKeyRingOptions(keyOf(newID), wssec.RingOptions{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := ring.Retain(keyOf(oldID), time.Time{}); err != nil {
				t.Fatal(err)
			}
			trust := trustRing(t, clk, receiverID.Certificate)
			d := &wssec.Decryptor{Keys: ring, Policy: tc.policy, Signers: trust}
			_, err = d.Decrypt(tc.msg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			for _, e := range ring.Snapshot() {
				want := uint64(0)
				if e.Certificate.Equal(oldID.Certificate) {
					want = tc.wantUses
				}
				if e.Uses != want || e.LastUsed.IsZero() != (want == 0) {
					t.Errorf("Decrypt(%s): key %s Uses = %d, LastUsed = %v, want %d uses", tc.name, e.Name, e.Uses, e.LastUsed, want)
				}
			}
			if got := trust.Snapshot()[0].Uses; got != tc.wantUses {
				t.Errorf("Decrypt(%s): signer Uses = %d, want %d", tc.name, got, tc.wantUses)
			}
		})
	}
}
