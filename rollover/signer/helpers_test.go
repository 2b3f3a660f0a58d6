package signer_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

// partner is the ID of the partner whose responses the tests verify.
const partner = "bank"

// signedVectors are WSS4J-signed responses of the cross-implementation
// corpus, by the fixture that signed them.
var signedVectors = map[string]string{
	testpki.Receiver:    "wss4j_soap11_sign_rsa-sha256_sha256_bst_receiver",
	testpki.ReceiverNew: "wss4j_soap11_sign_rsa-sha256_sha256_bst_receiver-new",
	testpki.ReceiverEC:  "wss4j_soap11_sign_ecdsa-sha256_sha256_bst_receiver-ec",
	// Signed by receiver, then encrypted for the tenant key "old".
	"receiver, encrypted": "wss4j_soap11_sign-encrypt_rsa-sha256_sha256_issuerserial_receiver_for-old",
	// The signer named by issuer and serial only: its certificate must be
	// in the trust ring.
	"receiver-new, issuer-serial": "wss4j_soap11_sign_rsa-sha256_sha256_issuerserial_receiver-new",
}

type vector struct {
	msg     []byte
	created time.Time
}

var vectors sync.Map // name -> vector

// signedVector returns the vector and the time its wsu:Timestamp was
// created, from its sidecar.
func signedVector(t testing.TB, name string) vector {
	t.Helper()
	if v, ok := vectors.Load(name); ok {
		return v.(vector)
	}
	base := filepath.Join("..", "..", "testdata", "signed", signedVectors[name])
	msg, err := os.ReadFile(base + ".xml")
	if err != nil {
		t.Fatal(err)
	}
	side, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(side, &sc); err != nil {
		t.Fatal(err)
	}
	v := vector{msg: msg, created: sc.Created}
	vectors.Store(name, v)
	return v
}

// verify processes the vector with a Decryptor whose Signers are ring and
// whose Keys are the env's key ring. The vectors were signed in 2026: the
// clock skew allowed is stretched to the fake clock's distance from then,
// so that their timestamps are current whenever the test runs them.
func (e *env) verify(ring *wssec.TrustRing, name string) (*wssec.Result, error) {
	v := signedVector(e.t, name)
	keys, err := e.store.KeyRing()
	if err != nil {
		return nil, err
	}
	d := &wssec.Decryptor{Keys: keys, Signers: ring, Policy: wssec.Policy{
		AllowPlaintextBody: true,
		ClockSkew:          e.clock.Now().Sub(v.created) + time.Hour,
	}}
	return d.Decrypt(v.msg)
}

// verified fails the test unless the vector verifies with ring and was
// signed by the fixture signer.
func (e *env) verified(ring *wssec.TrustRing, name, signer string) *wssec.Result {
	e.t.Helper()
	res, err := e.verify(ring, name)
	if err != nil {
		e.t.Fatalf("Decrypt(%s) error = %v", name, err)
	}
	if len(res.Signers) != 1 || wssec.FingerprintOf(res.Signers[0]) != fingerprint(signer) || !res.SignedBody() {
		e.t.Fatalf("Decrypt(%s) signers = %v, want %s over the Body", name, res.Signers, signer)
	}
	return res
}

// untrusted fails the test unless the vector is refused as signed by an
// untrusted certificate.
func (e *env) untrusted(ring *wssec.TrustRing, name string) {
	e.t.Helper()
	if _, err := e.verify(ring, name); !errors.Is(err, wssec.ErrUntrustedSigner) {
		e.t.Fatalf("Decrypt(%s) error = %v, want ErrUntrustedSigner", name, err)
	}
}

// partnerCert returns the fixture's certificate as the partner hands it
// over, with the test CA as its chain.
func partnerCert(name string) signer.Certificate {
	return signer.Certificate{
		Certificate: load(name).Certificate,
		Chain:       []*x509.Certificate{load(testpki.CA).Certificate},
		By:          "pki@partner.example",
		Reference:   "CHG-" + name,
	}
}

// resumeSigner returns the partner's persisted stage.
func (e *env) resumeSigner() signer.Stage {
	e.t.Helper()
	s, err := e.m.Resume(ctx, partner)
	if err != nil {
		e.t.Fatalf("Resume() error = %v", err)
	}
	return s
}

// asSigner asserts that s has type T.
func asSigner[T signer.Stage](t *testing.T, s signer.Stage) T { return proctest.As[T](t, s) }

// toTrusted trusts the fixture "receiver" for the partner.
func (e *env) toTrusted() *signer.Trusted {
	e.t.Helper()
	u := asSigner[*signer.Untrusted](e.t, e.resumeSigner())
	return must(u.Trust(ctx, partnerCert(testpki.Receiver)))(e.t)
}

// toCertificateAdded takes step 1 with the fixture "receiver-new".
func (e *env) toCertificateAdded() *signer.CertificateAdded {
	e.t.Helper()
	return must(e.toTrusted().AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(e.t)
}

// toPartnerSwitched takes step 2 on the partner's word.
func (e *env) toPartnerSwitched() *signer.Switched {
	e.t.Helper()
	return must(e.toCertificateAdded().ConfirmPartnerSwitched(ctx, signer.Confirmation{By: "ops@partner.example", Reference: "CHG-2"}))(e.t)
}

// selfSigned returns a self-signed ECDSA certificate on curve, valid from
// notBefore to notAfter. Key generation ignores custom randomness since Go
// 1.26; these keys are never stored.
func selfSigned(t *testing.T, curve elliptic.Curve, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "partner.example"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return must(x509.ParseCertificate(der))(t)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// fpHexOf returns the fixture's fingerprint as the state keeps it.
func fpHexOf(name string) string {
	fp := fingerprint(name)
	return hex.EncodeToString(fp[:])
}
