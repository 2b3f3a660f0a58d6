package wssec_test

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// tokenDecrypter refuses what crypto11 on SoftHSM2 2.6.1 refuses: OAEP
// with a digest other than SHA-1 or with a label, PKCS#1 v1.5 with
// SessionKeyLen; it ignores MGFHash (MGF1 follows the OAEP digest), and it
// reports bad PKCS#1 v1.5 padding as an error. It counts its operations.
type tokenDecrypter struct {
	key *rsa.PrivateKey
	ops atomic.Int64
}

var errToken = errors.New("token: CKR_ARGUMENTS_BAD")

func (d *tokenDecrypter) Public() crypto.PublicKey { return d.key.Public() }

func (d *tokenDecrypter) Decrypt(rand io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d.ops.Add(1)
	switch o := opts.(type) {
	case *rsa.OAEPOptions:
		if o.Hash != crypto.SHA1 || len(o.Label) > 0 {
			return nil, errToken
		}
		return d.key.Decrypt(rand, ct, &rsa.OAEPOptions{Hash: o.Hash})
	case *rsa.PKCS1v15DecryptOptions:
		if o.SessionKeyLen != 0 {
			return nil, errToken
		}
		return d.key.Decrypt(rand, ct, o)
	}
	return nil, errToken
}

func (d *tokenDecrypter) Capabilities() wssec.Capabilities {
	return wssec.Capabilities{
		OAEP:        []wssec.OAEPParameters{{Digest: crypto.SHA1, MGF: crypto.SHA1}},
		NoOAEPLabel: true,
		RSA15:       wssec.RSA15Plain,
	}
}

func TestCapabilities_Check(t *testing.T) {
	t.Parallel()
	token := (&tokenDecrypter{}).Capabilities()
	noRSA15 := wssec.Capabilities{RSA15: wssec.RSA15Unsupported}
	tests := []struct {
		name    string
		caps    wssec.Capabilities
		params  wssec.TransportParams
		wantErr error
	}{
		{"software, default", wssec.Capabilities{}, wssec.TransportParams{}, nil},
		{"software, rsa15", wssec.Capabilities{}, wssec.TransportParams{KeyTransport: wssec.RSA15}, nil},
		{"token, default rsa-oaep sha256", token, wssec.TransportParams{}, wssec.ErrKeyCapability},
		{"token, mgf1p", token, wssec.TransportParams{KeyTransport: wssec.RSAOAEPMGF1P}, nil},
		{"token, mgf1p sha256", token, wssec.TransportParams{KeyTransport: wssec.RSAOAEPMGF1P, OAEPDigest: crypto.SHA256}, wssec.ErrKeyCapability},
		{"token, rsa-oaep sha1", token, wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1}, nil},
		{"token, rsa-oaep sha1 mgf sha256", token, wssec.TransportParams{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1, MGF: crypto.SHA256}, wssec.ErrKeyCapability},
		{"token, rsa15", token, wssec.TransportParams{KeyTransport: wssec.RSA15}, nil},
		{"no rsa15", noRSA15, wssec.TransportParams{KeyTransport: wssec.RSA15}, wssec.ErrKeyCapability},
		{"invalid params", token, wssec.TransportParams{KeyTransport: "urn:x"}, wssec.ErrInvalidPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.caps.Check(tc.params)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Check(%+v) error = %v, want %v", tc.params, err, tc.wantErr)
			}
			if errors.Is(err, wssec.ErrKeyCapability) && !errors.Is(err, wssec.ErrAlgorithmNotAllowed) {
				t.Errorf("Check(%+v) error = %v, want it to match ErrAlgorithmNotAllowed too", tc.params, err)
			}
		})
	}
}

// TestDecryptor_Decrypt_capabilities decrypts messages through a key that
// refuses what a PKCS#11 token refuses: what it cannot perform gets
// ErrKeyCapability with no private-key operation; the rest decrypts.
func TestDecryptor_Decrypt_capabilities(t *testing.T) {
	t.Parallel()
	sample := readTestdata(t, "response11.xml")
	tests := []struct {
		name    string
		enc     wssec.Encryptor
		pol     wssec.Policy
		wantErr error
		wantOps int64
	}{
		{"rsa-oaep sha256 mgf1-sha1 (default)", wssec.Encryptor{}, wssec.Policy{}, wssec.ErrKeyCapability, 0},
		{"rsa-oaep sha256 mgf1-sha256", wssec.Encryptor{MGF: crypto.SHA256}, wssec.Policy{}, wssec.ErrKeyCapability, 0},
		{"rsa-oaep sha1 mgf1-sha256", wssec.Encryptor{OAEPDigest: crypto.SHA1, MGF: crypto.SHA256}, wssec.Policy{}, wssec.ErrKeyCapability, 0},
		{"rsa-oaep sha1 mgf1-sha1", wssec.Encryptor{OAEPDigest: crypto.SHA1}, wssec.Policy{}, nil, 1},
		{"rsa-oaep-mgf1p", wssec.Encryptor{KeyTransport: wssec.RSAOAEPMGF1P}, wssec.Policy{}, nil, 1},
		{"rsa-oaep-mgf1p sha512", wssec.Encryptor{KeyTransport: wssec.RSAOAEPMGF1P, OAEPDigest: crypto.SHA512}, wssec.Policy{}, wssec.ErrKeyCapability, 0},
		{"rsa-oaep-mgf1p by thumbprint", wssec.Encryptor{KeyTransport: wssec.RSAOAEPMGF1P, KeyIdentifier: wssec.IdentifyByThumbprintSHA1}, wssec.Policy{}, nil, 1},
		{"rsa15", wssec.Encryptor{KeyTransport: wssec.RSA15}, wssec.Policy{AllowRSA15: true}, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &tokenDecrypter{key: oldID.Key}
			ring := wssec.NewKeyRing(wssec.Key{Decrypter: d, Certificate: oldID.Certificate})
			e := tc.enc
			e.Certificate = oldID.Certificate
			msg := encrypt(t, &e, sample)
			_, err := (&wssec.Decryptor{Keys: ring, Policy: tc.pol}).Decrypt(msg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			var ke *wssec.KeyError
			if tc.wantErr != nil && (!errors.As(err, &ke) || ke.Err != wssec.ErrKeyCapability || ke.Fingerprint != wssec.FingerprintOf(oldID.Certificate) || !errors.Is(err, wssec.ErrAlgorithmNotAllowed)) {
				t.Errorf("Decrypt(%s) error = %#v, want a *KeyError for ErrKeyCapability naming the key, also ErrAlgorithmNotAllowed", tc.name, err)
			}
			if got := d.ops.Load(); got != tc.wantOps {
				t.Errorf("Decrypt(%s) made %d private-key operations, want %d", tc.name, got, tc.wantOps)
			}
		})
	}
}

// TestDecryptor_Decrypt_capabilitiesRSA15 checks implicit rejection
// through a key that reports padding errors: every tampered RSA-1_5 key
// fails as exactly ErrDecryptionFailed after one operation.
func TestDecryptor_Decrypt_capabilitiesRSA15(t *testing.T) {
	t.Parallel()
	d := &tokenDecrypter{key: oldID.Key}
	ring := wssec.NewKeyRing(wssec.Key{Decrypter: d, Certificate: oldID.Certificate})
	dec := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true}}
	msg := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, KeyTransport: wssec.RSA15}, readTestdata(t, "response11.xml"))
	for _, pos := range []int{0, 1, 10, 100, 200, 255} {
		tampered := edit(t, msg, func(doc *etree.Document) {
			cv := find(doc, "EncryptedKey").FindElement(".//CipherValue")
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cv.Text()))
			if err != nil {
				t.Fatal(err)
			}
			raw[pos] ^= 0x40
			cv.SetText(base64.StdEncoding.EncodeToString(raw))
		})
		before := d.ops.Load()
		_, err := dec.Decrypt(tampered)
		if err != wssec.ErrDecryptionFailed { //nolint:errorlint // the exact value is the contract
			t.Errorf("Decrypt(tampered at %d) error = %v, want exactly ErrDecryptionFailed", pos, err)
		}
		if ops := d.ops.Load() - before; ops != 1 {
			t.Errorf("Decrypt(tampered at %d) made %d private-key operations, want 1", pos, ops)
		}
	}
}

// TestDecryptor_Decrypt_capabilitiesRing checks that a ring with a
// software key and a token key under the same subject name tries only the
// key that can perform the message's key transport.
func TestDecryptor_Decrypt_capabilitiesRing(t *testing.T) {
	t.Parallel()
	d := &tokenDecrypter{key: oldID.Key}
	ring := wssec.NewKeyRing(keyOf(newID))
	if err := ring.Retain(wssec.Key{Decrypter: d, Certificate: oldID.Certificate}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring}
	sample := readTestdata(t, "response11.xml")
	if _, err := dec.Decrypt(encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate}, sample)); err != nil {
		t.Errorf("Decrypt(to software key) error = %v", err)
	}
	_, err := dec.Decrypt(encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, sample))
	if !errors.Is(err, wssec.ErrKeyCapability) {
		t.Errorf("Decrypt(sha256 to token key) error = %v, want %v", err, wssec.ErrKeyCapability)
	}
	if d.ops.Load() != 0 {
		t.Errorf("token key used %d times, want 0", d.ops.Load())
	}
}

// ExampleCapabilities_Check asks whether a key in a token that performs
// RSA-OAEP with SHA-1 only, as SoftHSM2 does, can decrypt what a receiver
// sends with each key transport.
func ExampleCapabilities_Check() {
	token := wssec.Capabilities{
		OAEP:        []wssec.OAEPParameters{{Digest: crypto.SHA1, MGF: crypto.SHA1}},
		NoOAEPLabel: true,
		RSA15:       wssec.RSA15Plain,
	}
	for _, t := range []wssec.TransportParams{
		{}, // the Encryptor's default: RSA-OAEP with SHA-256 and MGF1-SHA1
		{KeyTransport: wssec.RSAOAEPMGF1P},
		{KeyTransport: wssec.RSAOAEP, OAEPDigest: crypto.SHA1},
	} {
		err := token.Check(t)
		fmt.Println(err == nil, errors.Is(err, wssec.ErrKeyCapability))
	}
	// Output:
	// false true
	// true false
	// true false
}
