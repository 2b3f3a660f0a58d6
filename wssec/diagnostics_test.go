package wssec_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// fixIDs gives the EncryptedKey and EncryptedData fixed Ids, so that an
// error that quotes them can be compared.
func fixIDs(t testing.TB, msg []byte) []byte {
	t.Helper()
	return edit(t, msg, func(d *etree.Document) {
		ek := find(d, "EncryptedKey")
		ed := find(d, "EncryptedData")
		rename := map[string]string{"#" + ek.SelectAttrValue("Id", ""): "#EK-1", "#" + ed.SelectAttrValue("Id", ""): "#ED-1"}
		ek.CreateAttr("Id", "EK-1")
		ed.CreateAttr("Id", "ED-1")
		for _, r := range d.FindElements("//[@URI]") {
			if n, ok := rename[r.SelectAttrValue("URI", "")]; ok {
				r.CreateAttr("URI", n)
			}
		}
	})
}

// TestDecrypt_noMatchingKeyError checks that a message for a key the ring
// does not hold is refused, before any private-key operation, with a
// *NoMatchingKeyError that names the reference as the sender wrote it,
// the EncryptedKey, and the ring's keys.
func TestDecrypt_noMatchingKeyError(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	stranger := strangerID.Certificate
	to := func(id wssec.KeyIdentifier) []byte {
		return fixIDs(t, encrypt(t, &wssec.Encryptor{Certificate: stranger, KeyIdentifier: id}, plain))
	}
	thumb := sha1.Sum(stranger.Raw)
	fp := wssec.FingerprintOf(stranger)
	certValue := "SHA-256 " + fp.String() + ", subject " + stranger.Subject.String() + ", serial " + stranger.SerialNumber.String()
	noRef := edit(t, fixIDs(t, encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate}, plain)), func(d *etree.Document) {
		ek := find(d, "EncryptedKey")
		ek.RemoveChild(ek.SelectElement("KeyInfo"))
	})
	keyName := edit(t, to(wssec.IdentifyByIssuerSerial), func(d *etree.Document) {
		ki := find(d, "EncryptedKey").SelectElement("KeyInfo")
		for _, c := range ki.ChildElements() {
			ki.RemoveChild(c)
		}
		ki.CreateElement("ds:KeyName").SetText(" partner-2027 ")
	})
	replaceKeyInfo := func(f func(ki *etree.Element)) []byte {
		return edit(t, to(wssec.IdentifyByIssuerSerial), func(d *etree.Document) {
			ki := find(d, "EncryptedKey").SelectElement("KeyInfo")
			for _, c := range ki.ChildElements() {
				ki.RemoveChild(c)
			}
			f(ki)
		})
	}
	subject := replaceKeyInfo(func(ki *etree.Element) {
		ki.CreateElement("ds:X509Data").CreateElement("ds:X509SubjectName").SetText(stranger.Subject.String())
	})
	modulus := strangerID.Key.N.Bytes()
	keyValue := replaceKeyInfo(func(ki *etree.Element) {
		rsaKV := ki.CreateElement("ds:KeyValue").CreateElement("ds:RSAKeyValue")
		rsaKV.CreateElement("ds:Modulus").SetText(base64.StdEncoding.EncodeToString(modulus))
		rsaKV.CreateElement("ds:Exponent").SetText("AQAB")
	})
	certDigest := sha256.Sum256(stranger.Raw)
	x509Digest := replaceKeyInfo(func(ki *etree.Element) {
		xd := ki.CreateElement("ds:X509Data").CreateElement("dsig11:X509Digest")
		xd.CreateAttr("xmlns:dsig11", "http://www.w3.org/2009/xmldsig11#")
		xd.CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256")
		xd.SetText(base64.StdEncoding.EncodeToString(certDigest[:]))
	})
	modDigest := sha256.Sum256(modulus)
	tests := []struct {
		name   string
		msg    []byte
		policy wssec.Policy
		want   *wssec.NoMatchingKeyError
	}{
		{"subject name", subject, wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "X509SubjectName", Value: stranger.Subject.String()}},
			Reason:     "no ring key fits the key references"}},
		{"modulus", keyValue, wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "KeyValue", Value: "modulus SHA-256 " + hex.EncodeToString(modDigest[:8]) + ", 2048 bits"}},
			Reason:     "no ring key fits the key references"}},
		{"X509Digest", x509Digest, wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "X509Digest", Value: "http://www.w3.org/2001/04/xmlenc#sha256 " + hex.EncodeToString(certDigest[:])}},
			Reason:     "no ring key fits the key references"}},
		{"issuer and serial", to(wssec.IdentifyByIssuerSerial), wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "X509IssuerSerial", Value: stranger.Issuer.String() + ", serial " + stranger.SerialNumber.String()}},
			Reason:     "no ring key fits the key references"}},
		{"subject key identifier", to(wssec.IdentifyBySKI), wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "X509SKI", Value: hex.EncodeToString(stranger.SubjectKeyId)}},
			Reason:     "no ring key fits the key references"}},
		{"thumbprint", to(wssec.IdentifyByThumbprintSHA1), wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "ThumbprintSHA1", Value: hex.EncodeToString(thumb[:])}},
			Reason:     "no ring key fits the key references"}},
		{"certificate", to(wssec.IdentifyByX509Certificate), wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "X509Certificate", Value: certValue, Fingerprint: fp}},
			Reason:     "no ring key fits the key references"}},
		{"direct reference", to(wssec.IdentifyByDirectReference), wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "X509Certificate", Value: certValue, Fingerprint: fp}},
			Reason:     "no ring key fits the key references"}},
		{"key name", keyName, wssec.Policy{}, &wssec.NoMatchingKeyError{
			References: []wssec.KeyReference{{Kind: "KeyName", Value: "partner-2027"}},
			Reason:     "no ring key fits the key references"}},
		{"no reference, trial decryption off", noRef, wssec.Policy{DisableTrialDecryption: true}, &wssec.NoMatchingKeyError{
			Reason: "the EncryptedKey has no usable key reference and the policy does not allow trying each ring key"}},
	}
	ring := []wssec.Fingerprint{wssec.FingerprintOf(newID.Certificate), wssec.FingerprintOf(oldID.Certificate)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ops atomic.Int64
			_, err := (&wssec.Decryptor{Keys: countingRing(t, &ops), Policy: tc.policy}).Decrypt(tc.msg)
			var got *wssec.NoMatchingKeyError
			if !errors.Is(err, wssec.ErrNoMatchingKey) || !errors.As(err, &got) {
				t.Fatalf("Decrypt(%s) error = %v, want a *NoMatchingKeyError", tc.name, err)
			}
			want := *tc.want
			want.KeyID, want.Position, want.InHeader, want.DataIDs, want.Ring = "EK-1", 1, true, []string{"ED-1"}, ring
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("Decrypt(%s) error mismatch (-want +got):\n%s", tc.name, diff)
			}
			if ops.Load() != 0 {
				t.Errorf("Decrypt(%s) did %d private-key operations, want 0", tc.name, ops.Load())
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "wssec: no matching key: EncryptedKey \"EK-1\" (#1, in the Security header)") ||
				!strings.Contains(msg, ring[0].String()) || !strings.Contains(msg, ring[1].String()) {
				t.Errorf("Decrypt(%s) error text = %q, want the Id, position and ring fingerprints", tc.name, msg)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

// TestNoMatchingKeyError_cut checks that a long name from the message is
// cut in the error.
func TestNoMatchingKeyError_cut(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	long := strings.Repeat("é", 300)
	msg := edit(t, encrypt(t, &wssec.Encryptor{Certificate: strangerID.Certificate}, plain), func(d *etree.Document) {
		ki := find(d, "EncryptedKey").SelectElement("KeyInfo")
		for _, c := range ki.ChildElements() {
			ki.RemoveChild(c)
		}
		ki.CreateElement("ds:KeyName").SetText(long)
	})
	_, err := (&wssec.Decryptor{Keys: twoKeyRing(t)}).Decrypt(msg)
	var got *wssec.NoMatchingKeyError
	if !errors.As(err, &got) || len(got.References) != 1 {
		t.Fatalf("Decrypt() error = %v, want a *NoMatchingKeyError with one reference", err)
	}
	if v := got.References[0].Value; len(v) > 210 || !strings.HasPrefix(long, strings.TrimSuffix(v, "…")) {
		t.Errorf("KeyName reference = %q (%d bytes), want the name cut to 200 bytes", v, len(v))
	}
}

// TestDecrypt_timestampError checks that a Timestamp refusal names
// Created, Expires, the clock reading and the allowed skew.
func TestDecrypt_timestampError(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	// sign's Timestamp is Created t0, Expires five minutes later.
	tests := []struct {
		name string
		at   time.Duration // clock offset from t0
		want string        // the error's text
	}{
		{"expired", 11 * time.Minute, "wssec: message expired: Timestamp expired (Created 2026-01-01T00:00:00Z, Expires 2026-01-01T00:05:00Z, now 2026-01-01T00:11:00Z, allowed skew 5m0s)"},
		{"created in the future", -6 * time.Minute, "wssec: message expired: Timestamp created in the future (Created 2026-01-01T00:00:00Z, Expires 2026-01-01T00:05:00Z, now 2025-12-31T23:54:00Z, allowed skew 5m0s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := fakeclock.New(t0.Add(tc.at))
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: wssec.Policy{AllowPlaintextBody: true}, Signers: trustRing(t, clk, receiverID.Certificate)}
			_, err := d.Decrypt(signed)
			var got *wssec.MessageError
			if !errors.Is(err, wssec.ErrMessageExpired) || !errors.As(err, &got) || got.Err != wssec.ErrMessageExpired {
				t.Fatalf("Decrypt(%s) error = %v, want a *MessageError for ErrMessageExpired", tc.name, err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("Decrypt(%s) error mismatch (-want +got):\n%s", tc.name, diff)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
}

// TestDecrypt_noMatchingKeyErrorEmbedded checks the position and place
// reported for an EncryptedKey inside an EncryptedData's KeyInfo.
func TestDecrypt_noMatchingKeyErrorEmbedded(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	msg := encrypt(t, &wssec.Encryptor{Certificate: strangerID.Certificate, EmbedEncryptedKey: true}, plain)
	_, err := (&wssec.Decryptor{Keys: twoKeyRing(t)}).Decrypt(msg)
	var got *wssec.NoMatchingKeyError
	if !errors.As(err, &got) {
		t.Fatalf("Decrypt() error = %v, want a *NoMatchingKeyError", err)
	}
	if got.InHeader || got.Position != 1 || len(got.DataIDs) != 1 || got.DataIDs[0] == "" {
		t.Errorf("Decrypt() error = %+v, want the first EncryptedKey, in an EncryptedData's KeyInfo, with its EncryptedData's Id", got)
	}
	if !strings.Contains(err.Error(), "(#1, in an EncryptedData's KeyInfo)") {
		t.Errorf("Decrypt() error text = %q", err)
	}
}
