package keystore

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

// One of the few tests that generate a key: Generate's certificate and
// request, then the CA-signed certificate back onto the pending key.
func TestGenerate_intoStore(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	subject := pkix.Name{CommonName: "tenant.example", Organization: []string{"Example Tenant"}}
	c, err := Generate(subject, GenerateOptions{Bits: 2048, Validity: 365 * 24 * time.Hour, Now: s.opts.Now})
	if err != nil {
		t.Fatalf("Generate() error = %v", err)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Add("next", c, nil) })
	e, err := s.View().Entry("next")
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != StatusPending || !e.Created.Equal(t0) {
		t.Errorf("Generate() entry = %v created %v, want pending created %v", e, e.Created, t0)
	}
	cert := e.Certificate
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() != 2048 {
		t.Fatalf("certificate key = %T, want RSA-2048", cert.PublicKey)
	}
	ski, _ := subjectKeyID(pub)
	checks := []struct {
		what string
		ok   bool
	}{
		{"subject", cert.Subject.String() == subject.String()},
		{"self-signed", cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil},
		{"not before is the store's clock", cert.NotBefore.Equal(t0)},
		{"validity", cert.NotAfter.Equal(t0.Add(365 * 24 * time.Hour))},
		{"key usage", cert.KeyUsage == x509.KeyUsageKeyEncipherment},
		{"not a CA", cert.BasicConstraintsValid && !cert.IsCA},
		{"subject key identifier", bytes.Equal(cert.SubjectKeyId, ski)},
		{"positive serial", cert.SerialNumber.Sign() > 0 && cert.SerialNumber.BitLen() <= 127},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("generated certificate: %s is wrong", c.what)
		}
	}

	// A certificate request, signed by the test CA, goes back onto the key.
	csrPEM, err := s.CertificateRequest("next")
	if err != nil {
		t.Fatalf("CertificateRequest() error = %v", err)
	}
	b, _ := pem.Decode(csrPEM)
	if b == nil || b.Type != "CERTIFICATE REQUEST" {
		t.Fatalf("CertificateRequest() = %q, want a PEM certificate request", csrPEM)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("certificate request does not parse or verify: %v", err)
	}
	if csr.Subject.String() != subject.String() || !pub.Equal(csr.PublicKey) {
		t.Errorf("certificate request for %v, want %v and the generated key", csr.Subject, subject)
	}
	if len(csr.Extensions) != 1 || !csr.Extensions[0].Id.Equal(oidExtensionKeyUsage) {
		t.Errorf("certificate request extensions = %v, want keyUsage", csr.Extensions)
	}
	ca := testpki.Load(testpki.CA)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(99),
		Subject:      csr.Subject,
		NotBefore:    t0,
		NotAfter:     t0.Add(time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, csr.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ParseCertificates(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.SetCertificate("next", signed[0], []*x509.Certificate{ca.Certificate}), tx.Rotate("next"))
	})
	ce, err := s.ExportCertificate("next")
	if err != nil {
		t.Fatalf("ExportCertificate() error = %v", err)
	}
	if !bytes.Equal(ce.Raw, der) {
		t.Errorf("ExportCertificate() is not the CA-signed certificate")
	}
	ring, _ := s.KeyRing()
	if cur, ok := ring.Current(); !ok || !cur.Certificate.Equal(signed[0]) {
		t.Errorf("ring's current key does not carry the CA-signed certificate")
	}
}

func TestGenerate_errors(t *testing.T) {
	t.Parallel()
	name := pkix.Name{CommonName: "x"}
	tests := []struct {
		name    string
		subject pkix.Name
		opts    GenerateOptions
		wantErr error
	}{
		{"bits 1024", name, GenerateOptions{Bits: 1024}, ErrInvalidOptions},
		{"bits 2047", name, GenerateOptions{Bits: 2047}, ErrInvalidOptions},
		{"bits 8192", name, GenerateOptions{Bits: 8192}, ErrInvalidOptions},
		{"negative validity", name, GenerateOptions{Validity: -time.Hour}, ErrInvalidOptions},
		{"empty subject", pkix.Name{}, GenerateOptions{}, ErrInvalidOptions},
		{"broken rand", name, GenerateOptions{Rand: bytes.NewReader(nil)}, nil},
	}
	for _, tc := range tests {
		c, err := Generate(tc.subject, tc.opts)
		if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || c != nil {
			t.Errorf("Generate(%s) = %v, %v; want nil, %v", tc.name, c, err, tc.wantErr)
		}
	}
	s, _, _ := ringStore(t)
	if _, err := s.CertificateRequest("nope"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("CertificateRequest(unknown) error = %v, want %v", err, ErrUnknownAlias)
	}
	if _, err := createCertificateRequest(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("createCertificateRequest(nil) error = %v, want %v", err, ErrMalformed)
	}
}

func TestGenerateOptions_defaults(t *testing.T) {
	t.Parallel()
	var o GenerateOptions
	bits, err := o.bits()
	if bits != 3072 || err != nil {
		t.Errorf("zero GenerateOptions bits() = %d, %v; want 3072", bits, err)
	}
	v, err := o.validity()
	if v != 730*24*time.Hour || err != nil {
		t.Errorf("zero GenerateOptions validity() = %v, %v; want 730 days", v, err)
	}
	if o.rand() == nil || o.now().IsZero() {
		t.Errorf("zero GenerateOptions has no clock or randomness")
	}
	var so Options
	if so.rand() == nil || so.now().IsZero() {
		t.Errorf("zero Options has no clock or randomness")
	}
}
