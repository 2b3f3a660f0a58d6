package main

import (
	"bytes"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// signedFixture returns the messages of inOrders for a records body of
// size bytes, with the identities that sign and decrypt them.
func signedFixture(t *testing.T, size int) (msgs map[string]signed, plain []byte, recipient, signer testpki.Identity) {
	t.Helper()
	recipient, signer = testpki.Load(testpki.Old), testpki.Load(testpki.Receiver)
	plain, _, _ = response("records", size)
	enc := &wssec.Encryptor{Certificate: recipient.Certificate, KeyTransport: wssec.RSAOAEPMGF1P,
		DataEncryption: wssec.AES256GCM, KeyIdentifier: wssec.IdentifyByX509Certificate}
	msgs, err := inOrders(plain, signer.Signer.(*rsa.PrivateKey), signer.Certificate.Raw, enc)
	if err != nil {
		t.Fatalf("inOrders() error = %v", err)
	}
	return msgs, plain, recipient, signer
}

// decryptor verifies with signer's certificate at one minute after
// signedAt and decrypts with recipient's key.
func decryptor(t *testing.T, recipient, signer testpki.Identity, plaintextBody bool) *wssec.Decryptor {
	t.Helper()
	now := signedAt.Add(time.Minute)
	trust, err := wssec.NewTrustRing(signer.Certificate, wssec.RingOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &wssec.Decryptor{
		Keys:    wssec.NewKeyRing(wssec.Key{Decrypter: recipient.Signer.(*rsa.PrivateKey), Certificate: recipient.Certificate}),
		Signers: trust,
		Policy:  wssec.Policy{AllowPlaintextBody: plaintextBody},
	}
}

// TestInOrders has wssec verify and decrypt every order, on a small body
// and on one beyond the 1,000 elements at which goxmldsig's own detaching
// helper stops, and reject each with one character of its Body changed.
func TestInOrders(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1 << 10, 64 << 10} {
		msgs, plain, recipient, signer := signedFixture(t, size)
		for _, order := range signedOrders {
			t.Run(fmt.Sprintf("%s/%dKB", order, size>>10), func(t *testing.T) {
				d := decryptor(t, recipient, signer, order == "signed")
				r, err := d.Decrypt(msgs[order].msg)
				if err != nil {
					t.Fatalf("Decrypt(%s, %d bytes) error = %v", order, size, err)
				}
				if diff := cmp.Diff([]*rsa.PublicKey{signer.Certificate.PublicKey.(*rsa.PublicKey)}, signerKeys(r)); diff != "" {
					t.Errorf("Decrypt(%s) signers (-want +got):\n%s", order, diff)
				}
				body := func(b []byte) []byte {
					i, j := bytes.Index(b, []byte("<tns:Response>")), bytes.Index(b, []byte("</tns:Response>"))
					if i < 0 || j < i {
						t.Fatalf("Decrypt(%s): no tns:Response in %.200q", order, b)
					}
					return b[i:j]
				}
				if !bytes.Equal(body(r.Envelope), body(plain)) {
					t.Errorf("Decrypt(%s): the Body differs from the plaintext", order)
				}
			})
		}
	}
	t.Run("tampered", func(t *testing.T) {
		msgs, _, recipient, signer := signedFixture(t, 1<<10)
		msg := bytes.Replace(msgs["signed"].msg, []byte("Customer 1<"), []byte("Customer 9<"), 1)
		_, err := decryptor(t, recipient, signer, true).Decrypt(msg)
		if !errors.Is(err, wssec.ErrSignatureInvalid) {
			t.Errorf("Decrypt(tampered) error = %v, want %v", err, wssec.ErrSignatureInvalid)
		}
	})
}

func signerKeys(r *wssec.Result) []*rsa.PublicKey {
	var keys []*rsa.PublicKey
	for _, c := range r.Signers {
		keys = append(keys, c.PublicKey.(*rsa.PublicKey))
	}
	return keys
}

// TestSign_xmlsec1 has the xmlsec1 command verify the signed-only
// message, and reject it tampered; peers.sh has xmlsec1 and Santuario
// verify every message before it times them.
func TestSign_xmlsec1(t *testing.T) {
	t.Parallel()
	bin := interop.Require(t, interop.XMLSec1Tool())[0]
	msgs, _, _, signer := signedFixture(t, 64<<10)
	dir := t.TempDir()
	cert := filepath.Join(dir, "signer.pem")
	if err := os.WriteFile(cert, signer.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		msg     []byte
		wantErr bool
	}{
		{"as signed", msgs["signed"].msg, false},
		{"tampered", bytes.Replace(msgs["signed"].msg, []byte("Customer 1<"), []byte("Customer 9<"), 1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".xml")
			if err := os.WriteFile(file, tc.msg, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "--verify", "--pubkey-cert-pem", cert,
				"--id-attr:Id", "http://schemas.xmlsoap.org/soap/envelope/:Body",
				"--id-attr:Id", nsWSU+":Timestamp", file).CombinedOutput()
			if (err != nil) != tc.wantErr {
				t.Errorf("xmlsec1 --verify (%s) error = %v, want error %v\n%s", tc.name, err, tc.wantErr, out)
			}
		})
	}
}
