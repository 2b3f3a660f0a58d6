package x509id_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/x509id"
)

// selfSigned returns a certificate for a new P-256 key, with the given
// SubjectKeyIdentifier extension (none if nil), and the SHA-1 of its
// public key bits computed independently of the package.
func selfSigned(t *testing.T, ski []byte) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "x509id test"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		SubjectKeyId: ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(pub, &spki); err != nil {
		t.Fatal(err)
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return cert, h[:]
}

func TestSubjectKeyID(t *testing.T) {
	t.Parallel()
	ext := []byte{1, 2, 3, 4}
	withExt, hashWith := selfSigned(t, ext)
	noExt, hashNo := selfSigned(t, nil)
	if len(noExt.SubjectKeyId) != 0 {
		t.Fatalf("test certificate has a SubjectKeyIdentifier extension %x", noExt.SubjectKeyId)
	}
	sameAsHash, hash := selfSigned(t, nil)
	sameAsHash.SubjectKeyId = hash // the extension as method 1 computes it
	for _, tc := range []struct {
		name    string
		cert    *x509.Certificate
		wantOne []byte
		wantAll [][]byte
	}{
		{"extension", withExt, ext, [][]byte{ext, hashWith}},
		{"no extension", noExt, hashNo, [][]byte{hashNo}},
		{"extension equal to the key hash", sameAsHash, hash, [][]byte{hash}},
		{"garbled public key info", &x509.Certificate{RawSubjectPublicKeyInfo: []byte{0x30, 0xff}}, nil, nil},
		{"nil", nil, nil, nil},
	} {
		if diff := cmp.Diff(tc.wantOne, x509id.SubjectKeyID(tc.cert)); diff != "" {
			t.Errorf("SubjectKeyID(%s) (-want +got):\n%s", tc.name, diff)
		}
		if diff := cmp.Diff(tc.wantAll, x509id.SubjectKeyIDs(tc.cert)); diff != "" {
			t.Errorf("SubjectKeyIDs(%s) (-want +got):\n%s", tc.name, diff)
		}
	}
}
