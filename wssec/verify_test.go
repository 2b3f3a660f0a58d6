package wssec_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

var (
	receiverID    = testpki.Load(testpki.Receiver)
	receiverNewID = testpki.Load(testpki.ReceiverNew)
	receiverECID  = testpki.Load(testpki.ReceiverEC)
)

// trustRing trusts the given certificates, the first current, with a clock
// one minute after the test signer's Timestamp.
func trustRing(t testing.TB, clk *fakeclock.Clock, certs ...*x509.Certificate) *wssec.TrustRing {
	t.Helper()
	r, err := wssec.NewTrustRing(certs[0], wssec.RingOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range certs[1:] {
		if err := r.Retain(c, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestVerify(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	signedExtra := sign(t, plain, receiverID, signOpts{extra: []string{"Session"}, issuerSerial: true})
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	signThenGCM := encrypt(t, gcm, signed)
	signThenCBC := encrypt(t, cbc, signed)
	gcmThenSign := sign(t, encrypt(t, gcm, plain), receiverID, signOpts{})
	setDigest := func(d *etree.Document) { // a DigestValue no content has
		d.FindElement("//DigestValue").SetText(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	}
	wrap := func(d *etree.Document) { // the signature-wrapping attack
		body := find(d, "Body")
		env := body.Parent()
		header := find(d, "Header")
		wrapper := header.CreateElement("x:Wrapper")
		wrapper.CreateAttr("xmlns:x", "urn:attacker")
		env.RemoveChild(body)
		wrapper.AddChild(body)
		nb := env.CreateElement("soapenv:Body")
		nb.CreateElement("tns:Transfer").SetText("all the money")
	}

	tampered := bytes.Replace(signed, []byte("1234.50"), []byte("9234.50"), 1)
	allowPlain := wssec.Policy{AllowPlaintextBody: true}
	tests := []struct {
		name    string
		msg     []byte
		trust   []*x509.Certificate
		policy  wssec.Policy
		at      time.Duration // clock offset from t0
		wantErr error
	}{
		{"sign only", signed, nil, allowPlain, 0, nil},
		{"header block and issuer serial", signedExtra, nil, allowPlain, 0, nil},
		{"sign then encrypt, GCM", signThenGCM, nil, wssec.Policy{}, 0, nil},
		{"sign then encrypt, CBC", signThenCBC, nil, wssec.Policy{}, 0, nil},
		{"encrypt then sign", gcmThenSign, nil, wssec.Policy{RequireSignedEncryptedData: true}, 0, nil},
		{"sign then encrypt, signed data required", signThenGCM, nil, wssec.Policy{RequireSignedEncryptedData: true}, 0, wssec.ErrSignatureInvalid},
		{"ECDSA", sign(t, plain, receiverECID, signOpts{method: ecdsa256}), []*x509.Certificate{receiverECID.Certificate}, allowPlain, 0, nil},
		{"untrusted signer", sign(t, plain, strangerID, signOpts{}), nil, allowPlain, 0, wssec.ErrUntrustedSigner},
		{"renewed signer not yet trusted", sign(t, plain, receiverNewID, signOpts{issuerSerial: true}), nil, allowPlain, 0, wssec.ErrUntrustedSigner},
		{"renewed signer trusted", sign(t, plain, receiverNewID, signOpts{issuerSerial: true}), []*x509.Certificate{receiverNewID.Certificate, receiverID.Certificate}, allowPlain, 0, nil},
		{"tampered body", bytes.Replace(signed, []byte("1234.50"), []byte("9234.50"), 1), nil, allowPlain, 0, wssec.ErrSignatureInvalid},
		{"tampered signature", edit(t, signed, func(d *etree.Document) {
			v := find(d, "SignatureValue")
			b, _ := base64.StdEncoding.DecodeString(v.Text())
			b[10] ^= 1
			v.SetText(base64.StdEncoding.EncodeToString(b))
		}), nil, allowPlain, 0, wssec.ErrSignatureInvalid},
		{"wrapped body", edit(t, signed, wrap), nil, allowPlain, 0, wssec.ErrSignatureInvalid},
		{"wrapped body, duplicate Id", edit(t, signed, func(d *etree.Document) {
			wrap(d)
			find(d, "Envelope").SelectElement("Body").CreateAttr("wsu:Id", "id-body")
		}), nil, allowPlain, 0, wssec.ErrMalformed},
		{"expired", signed, nil, allowPlain, 11 * time.Minute, wssec.ErrMessageExpired},
		{"within skew after expiry", signed, nil, allowPlain, 8 * time.Minute, nil},
		{"from the future", signed, nil, allowPlain, -7 * time.Minute, wssec.ErrMessageExpired},
		{"unsigned timestamp", edit(t, signed, func(d *etree.Document) {
			for _, r := range d.FindElements("//Reference") {
				if r.SelectAttrValue("URI", "") == "#TS-1" {
					r.Parent().RemoveChild(r)
				}
			}
		}), nil, allowPlain, 0, wssec.ErrSignatureInvalid},
		{"not signed at all", plain, nil, allowPlain, 0, wssec.ErrSignatureInvalid},
		{"not signed, allowed", plain, nil, wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}, 0, nil},
		{"rsa-sha1 refused", sign(t, plain, receiverID, signOpts{method: rsa1, digest: sha1D}), nil, allowPlain, 0, wssec.ErrAlgorithmNotAllowed},
		{"rsa-sha1 allowed", sign(t, plain, receiverID, signOpts{method: rsa1, digest: sha1D}), nil, wssec.Policy{AllowPlaintextBody: true, AllowSHA1Signatures: true}, 0, nil},
		{"reference outside the message", edit(t, signed, func(d *etree.Document) {
			find(d, "Reference").CreateAttr("URI", "http://attacker.example/body")
		}), nil, allowPlain, 0, wssec.ErrMalformed},
		{"reference to the Security header", edit(t, signed, func(d *etree.Document) {
			find(d, "Security").CreateAttr("wsu:Id", "sec")
			find(d, "Reference").CreateAttr("URI", "#sec")
		}), nil, allowPlain, 0, wssec.ErrSignatureInvalid},
		// SignedInfo is readable before decryption: a SignatureValue that
		// does not verify is refused before the private key is used.
		{"bad SignedInfo under encryption, GCM", encrypt(t, gcm, edit(t, signed, setDigest)), nil, wssec.Policy{}, 0, wssec.ErrSignatureInvalid},
		{"bad SignedInfo under encryption, CBC", encrypt(t, cbc, edit(t, signed, setDigest)), nil, wssec.Policy{}, 0, wssec.ErrSignatureInvalid},
		// A digest over the plaintext is known only after decryption.
		{"bad digest after decryption, GCM", encrypt(t, gcm, tampered), nil, wssec.Policy{}, 0, wssec.ErrSignatureInvalid},
		{"bad digest after decryption, CBC", encrypt(t, cbc, tampered), nil, wssec.Policy{}, 0, wssec.ErrDecryptionFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := fakeclock.New(t0.Add(time.Minute + tc.at))
			trust := tc.trust
			if trust == nil {
				trust = []*x509.Certificate{receiverID.Certificate}
			}
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: tc.policy, Signers: trustRing(t, clk, trust...)}
			res, err := d.Decrypt(tc.msg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if tc.wantErr == wssec.ErrDecryptionFailed && err != wssec.ErrDecryptionFailed { //nolint:errorlint
				t.Fatalf("Decrypt(%s) error = %#v, want the bare uniform error", tc.name, err)
			}
			if err != nil || tc.policy.AllowUnsignedBody {
				return
			}
			if !res.SignedBody() || len(res.Signers) != 1 || !inCerts(res.Signers[0], trust) {
				t.Errorf("Decrypt(%s) SignedBody %v, %d signers", tc.name, res.SignedBody(), len(res.Signers))
			}
			if strings.Contains(string(res.Envelope), "EncryptedData") {
				t.Errorf("Decrypt(%s) left encrypted data", tc.name)
			}
		})
	}

}

func inCerts(c *x509.Certificate, list []*x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// TestTrustRing_rollover walks a partner's signing-key renewal: its new
// certificate is trusted before it switches, messages signed with the old
// one keep verifying while it is retained, and the old one goes only after
// its expiry.
func TestTrustRing_rollover(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(t0.Add(time.Minute))
	trust := trustRing(t, clk, receiverID.Certificate)
	d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trust, Policy: wssec.Policy{AllowPlaintextBody: true}}
	plain := readTestdata(t, "response11.xml")
	byOld := sign(t, plain, receiverID, signOpts{})
	byNew := sign(t, plain, receiverNewID, signOpts{})
	check := func(step string, msg []byte, want error) {
		t.Helper()
		if _, err := d.Decrypt(msg); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Fatalf("%s: Decrypt error = %v, want %v", step, err, want)
		}
	}
	check("before", byNew, wssec.ErrUntrustedSigner)
	if err := trust.Rotate(receiverNewID.Certificate); err != nil {
		t.Fatal(err)
	}
	check("after adding the new certificate", byNew, nil)
	check("old signatures in flight", byOld, nil)
	if err := trust.Remove(receiverID.Certificate); !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("Remove(old) without expiry error = %v", err)
	}
	if err := trust.SetExpiry(receiverID.Certificate, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // still within the Timestamp's validity
	if err := trust.Remove(receiverID.Certificate); err != nil {
		t.Fatalf("Remove(old) after expiry error = %v", err)
	}
	check("old signer removed", byOld, wssec.ErrUntrustedSigner)
	for _, e := range trust.Snapshot() {
		if e.Uses == 0 || e.Status != wssec.StatusCurrent {
			t.Errorf("Snapshot() = %+v, want the new certificate current and used", e)
		}
	}
	if _, err := wssec.NewTrustRing(oldID.Certificate, wssec.RingOptions{}); err != nil {
		t.Errorf("NewTrustRing(RSA-2048) error = %v", err)
	}
	if _, err := wssec.NewTrustRing(nil, wssec.RingOptions{}); !errors.Is(err, wssec.ErrInvalidKey) {
		t.Errorf("NewTrustRing(nil) error = %v, want %v", err, wssec.ErrInvalidKey)
	}
}

// TestVerify_signerRoots accepts a signer that is not pinned but chains to
// a configured root.
func TestVerify_signerRoots(t *testing.T) {
	t.Parallel()
	roots := x509.NewCertPool()
	roots.AddCert(testpki.Load(testpki.CA).Certificate)
	// Chain validation needs a time within the certificates' validity.
	at := receiverNewID.Certificate.NotBefore.Add(time.Hour)
	clk := fakeclock.New(at.Add(time.Minute))
	signed := sign(t, readTestdata(t, "response11.xml"), receiverNewID, signOpts{created: at})
	for _, tc := range []struct {
		roots *x509.CertPool
		want  error
	}{{nil, wssec.ErrUntrustedSigner}, {roots, nil}} {
		d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trustRing(t, clk, receiverID.Certificate),
			Policy: wssec.Policy{AllowPlaintextBody: true, SignerRoots: tc.roots}}
		if _, err := d.Decrypt(signed); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Decrypt(roots=%v) error = %v, want %v", tc.roots != nil, err, tc.want)
		}
	}
}
