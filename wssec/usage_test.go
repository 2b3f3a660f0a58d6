package wssec_test

import (
	"encoding/base64"
	"errors"
	"net/http"
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
		{"wrong signer", toOld(wssec.AES256GCM, sign(t, plain, strangerID, signOpts{})), wssec.Policy{}, 0, wssec.ErrUntrustedSigner, 0},
		{"unsigned fault, encrypted", toOld(wssec.AES256GCM, []byte(faultXML)), wssec.Policy{}, 0, wssec.ErrSignatureInvalid, 0},
		{"unsigned fault, unsigned Body allowed", toOld(wssec.AES256GCM, []byte(faultXML)), wssec.Policy{AllowUnsignedBody: true}, 0, wssec.ErrUnsignedFault, 0},
		{"unsigned fault in the clear", []byte(faultXML), wssec.Policy{}, 0, wssec.ErrUnsignedFault, 0},
		{"tampered CBC", edit(t, toOld(wssec.AES128CBC, signed), flip("EncryptedData", 30)), wssec.Policy{}, 0, wssec.ErrDecryptionFailed, 0},
		{"SHA-1 signature refused", toOld(wssec.AES256GCM, sign(t, plain, receiverID, signOpts{method: rsa1})), wssec.Policy{}, 0, wssec.ErrAlgorithmNotAllowed, 0},
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

// TestTransport_refusalRecordsNoUse: a response the Transport refuses,
// for its Content-Type or for what Decrypt finds, is no evidence that a
// key or signer is in use.
func TestTransport_refusalRecordsNoUse(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	good := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, DataEncryption: wssec.AES256GCM}, sign(t, plain, receiverID, signOpts{}))
	unsigned := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, DataEncryption: wssec.AES256GCM}, plain)
	tests := []struct {
		name, ct string
		body     []byte
	}{
		{"text/html", "text/html", good},
		{"multipart/related", `multipart/related; type="application/xop+xml"`, good},
		{"charset", "text/xml; charset=iso-8859-1", good},
		{"malformed parameter", "text/xml; charset", good},
		{"unsigned", "text/xml", unsigned},
		{"forged fault", "text/xml", []byte(faultXML)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := fakeclock.New(t0.Add(time.Minute))
			ring, err := wssec.NewKeyRingOptions(keyOf(newID), wssec.RingOptions{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if err := ring.Retain(keyOf(oldID), time.Time{}); err != nil {
				t.Fatal(err)
			}
			trust := trustRing(t, clk, receiverID.Certificate)
			srv := receiverServer(t, func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", tc.ct)
				w.WriteHeader(http.StatusInternalServerError)
				w.Write(tc.body)
			})
			c := &http.Client{Transport: &wssec.Transport{Decryptor: &wssec.Decryptor{Keys: ring, Signers: trust}}}
			resp, err := c.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("Get: the response was accepted")
			}
			for _, e := range ring.Snapshot() {
				if e.Uses != 0 || !e.LastUsed.IsZero() {
					t.Errorf("key %s Uses = %d, LastUsed = %v after a refusal", e.Name, e.Uses, e.LastUsed)
				}
			}
			if got := trust.Snapshot()[0]; got.Uses != 0 {
				t.Errorf("signer Uses = %d after a refusal", got.Uses)
			}
		})
	}
}
