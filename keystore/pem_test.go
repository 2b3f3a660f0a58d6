package keystore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// pemPassword protects the encrypted PEM keys in testdata (see README.md).
const pemPassword = "pem-test-password"

func TestParsePEM(t *testing.T) {
	t.Parallel()
	old, stranger, ca := testpki.Load(testpki.Old), testpki.Load(testpki.Stranger), testpki.Load(testpki.CA)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(old.Key)})
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPKCS8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	ecSEC1DER, _ := x509.MarshalECPrivateKey(ecKey)
	ecSEC1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecSEC1DER})
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	leafOnly := credView{Leaf: fingerprintOf(old.Certificate)}
	withCA := credView{Leaf: fingerprintOf(old.Certificate), Chain: []string{fingerprintOf(ca.Certificate)}}

	tests := []struct {
		name     string
		key      []byte
		cert     []byte
		password string
		want     credView
		wantErr  error
	}{
		{name: "PKCS#8", key: old.KeyPEM, cert: old.CertPEM, want: leafOnly},
		{name: "PKCS#1", key: pkcs1, cert: old.CertPEM, want: leafOnly},
		{name: "PKCS#1 by openssl", key: readTestdata(t, "old-pkcs1.pem"), cert: old.CertPEM, want: leafOnly},
		{name: "chain", key: old.KeyPEM, cert: cat(old.CertPEM, ca.CertPEM), want: withCA},
		{name: "CA first", key: old.KeyPEM, cert: cat(ca.CertPEM, old.CertPEM), want: withCA},
		{name: "one file", key: cat(old.KeyPEM, old.CertPEM, ca.CertPEM), want: withCA},
		{name: "openssl pkcs12 -nodes output", key: readTestdata(t, "old-bundle.pem"), want: withCA},
		{name: "bundle and certificate file", key: readTestdata(t, "old-bundle.pem"), cert: old.CertPEM, want: withCA},
		{name: "encrypted AES-256", key: readTestdata(t, "old-pkcs8-aes256.pem"), cert: old.CertPEM, password: pemPassword, want: leafOnly},
		{name: "encrypted 3DES", key: readTestdata(t, "old-pkcs8-des3.pem"), cert: old.CertPEM, password: pemPassword, want: leafOnly},
		{name: "password for a plain key", key: old.KeyPEM, cert: old.CertPEM, password: "unused", want: leafOnly},
		{name: "encrypted without password", key: readTestdata(t, "old-pkcs8-aes256.pem"), cert: old.CertPEM, wantErr: ErrEncryptedKey},
		{name: "encrypted wrong password", key: readTestdata(t, "old-pkcs8-aes256.pem"), cert: old.CertPEM, password: "s3cret-guess", wantErr: ErrWrongPassword},
		{name: "encrypted 3DES wrong password", key: readTestdata(t, "old-pkcs8-des3.pem"), cert: old.CertPEM, password: "s3cret-guess", wantErr: ErrWrongPassword},
		{name: "PBES1", key: readTestdata(t, "old-pkcs8-pbes1.pem"), cert: old.CertPEM, password: pemPassword, wantErr: ErrEncryptedKey},
		{name: "scrypt", key: readTestdata(t, "old-pkcs8-scrypt.pem"), cert: old.CertPEM, password: pemPassword, wantErr: ErrEncryptedKey},
		{name: "legacy PEM encryption", key: readTestdata(t, "old-pkcs1-encrypted.pem"), cert: old.CertPEM, password: pemPassword, wantErr: ErrEncryptedKey},
		{name: "certificate of another key", key: old.KeyPEM, cert: stranger.CertPEM, wantErr: ErrKeyMismatch},
		{name: "EC key PKCS#8", key: ecPKCS8, cert: old.CertPEM, wantErr: ErrUnsupportedKey},
		{name: "EC key SEC 1", key: ecSEC1, cert: old.CertPEM, wantErr: ErrUnsupportedKey},
		{name: "no key", key: nil, cert: old.CertPEM, wantErr: ErrMalformed},
		{name: "no certificate", key: old.KeyPEM, wantErr: ErrMalformed},
		{name: "two keys", key: cat(old.KeyPEM, stranger.KeyPEM), cert: old.CertPEM, wantErr: ErrMalformed},
		{name: "unknown block", key: old.KeyPEM, cert: cat(old.CertPEM, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: []byte{1}})), wantErr: ErrMalformed},
		{name: "broken key", key: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}}), cert: old.CertPEM, wantErr: ErrMalformed},
		{name: "broken certificate", key: old.KeyPEM, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2}}), wantErr: ErrMalformed},
		{name: "not PEM", key: []byte("hello"), cert: []byte("world"), wantErr: ErrMalformed},
		{name: "too large", key: make([]byte, maxImportBytes), cert: old.CertPEM, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParsePEM(tc.key, tc.cert, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParsePEM() error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Errorf("ParsePEM() error = %#v, want a *Error", err)
				}
				if tc.password != "" && strings.Contains(err.Error(), tc.password) {
					t.Errorf("ParsePEM() error = %q contains the password", err)
				}
				return
			}
			if diff := cmp.Diff(tc.want, credViewOf(c)); diff != "" {
				t.Errorf("ParsePEM() mismatch (-want +got):\n%s", diff)
			}
			if !old.Key.PublicKey.Equal(c.Key.Public()) {
				t.Errorf("ParsePEM() key is not the fixture's")
			}
		})
	}
}

// Encrypted PKCS#8 structures this package refuses, made by hand.
func TestDecryptPKCS8_errors(t *testing.T) {
	t.Parallel()
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	raw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	type kdfParams struct {
		Salt       []byte
		Iterations int
		KeyLength  int   `asn1:"optional"`
		PRF        algID `asn1:"optional"`
	}
	iv := make([]byte, 16)
	info := func(iter, keyLen int, prf asn1.ObjectIdentifier, scheme asn1.ObjectIdentifier, data []byte) []byte {
		kp := kdfParams{Salt: []byte("saltsalt"), Iterations: iter, KeyLength: keyLen}
		if prf != nil {
			kp.PRF = algID{Algorithm: prf, Parameters: asn1.NullRawValue}
		}
		params := struct {
			KDF    algID
			Scheme algID
		}{algID{oidPBKDF2, raw(kp)}, algID{scheme, raw(iv)}}
		b, err := asn1.Marshal(struct {
			Algorithm algID
			Data      []byte
		}{algID{oidPBES2, raw(params)}, data})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	block := make([]byte, 16)
	tests := []struct {
		name    string
		der     []byte
		wantErr error
	}{
		{"not DER", []byte{1, 2, 3}, ErrMalformed},
		{"too many iterations", info(maxKDFIterations+1, 0, nil, oidAES256CBC, block), ErrMalformed},
		{"zero iterations", info(0, 0, nil, oidAES256CBC, block), ErrMalformed},
		{"unknown PRF", info(1, 0, asn1.ObjectIdentifier{1, 2, 3}, oidAES256CBC, block), ErrEncryptedKey},
		{"unknown cipher", info(1, 0, oidHMACSHA256, asn1.ObjectIdentifier{1, 2, 3}, block), ErrEncryptedKey},
		{"key length of another cipher", info(1, 16, oidHMACSHA256, oidAES256CBC, block), ErrMalformed},
		{"partial block", info(1, 0, oidHMACSHA256, oidAES256CBC, block[:15]), ErrMalformed},
		{"empty data", info(1, 0, oidHMACSHA256, oidAES256CBC, nil), ErrMalformed},
		{"bad padding", info(1, 0, oidHMACSHA512, oidAES128CBC, block), ErrWrongPassword},
	}
	for _, tc := range tests {
		if _, err := decryptPKCS8(tc.der, "pw"); !errors.Is(err, tc.wantErr) {
			t.Errorf("decryptPKCS8(%s) error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestParseCertificates(t *testing.T) {
	t.Parallel()
	old, ca := testpki.Load(testpki.Old), testpki.Load(testpki.CA)
	two := []string{fingerprintOf(old.Certificate), fingerprintOf(ca.Certificate)}
	tests := []struct {
		name    string
		data    []byte
		want    []string
		wantErr error
	}{
		{name: "PEM", data: old.CertPEM, want: two[:1]},
		{name: "PEM chain with text", data: bytes.Join([][]byte{[]byte("subject=...\n"), old.CertPEM, ca.CertPEM}, nil), want: two},
		{name: "DER", data: old.Certificate.Raw, want: two[:1]},
		{name: "DER chain", data: append(append([]byte(nil), old.Certificate.Raw...), ca.Certificate.Raw...), want: two},
		{name: "empty", data: nil, wantErr: ErrMalformed},
		{name: "white space", data: []byte(" \n"), wantErr: ErrMalformed},
		{name: "garbage", data: []byte("garbage"), wantErr: ErrMalformed},
		{name: "key block", data: old.KeyPEM, wantErr: ErrMalformed},
		{name: "broken PEM certificate", data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}), wantErr: ErrMalformed},
		{name: "too large", data: make([]byte, maxImportBytes+1), wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseCertificates(tc.data)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseCertificates() error = %v, want %v", err, tc.wantErr)
			}
			var fps []string
			for _, c := range got {
				fps = append(fps, fingerprintOf(c))
			}
			if diff := cmp.Diff(tc.want, fps); diff != "" {
				t.Errorf("ParseCertificates() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStore_ExportCertificate(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	old := testpki.Load(testpki.Old)
	got, err := s.ExportCertificate("old")
	if err != nil {
		t.Fatalf("ExportCertificate() error = %v", err)
	}
	if !got.Equal(old.Certificate) {
		t.Errorf("ExportCertificate() = %s, want the certificate of old", got.Subject)
	}
	// The forms an administrator gets derive from the certificate; the
	// fingerprint is what openssl x509 -fingerprint -sha256 prints for the
	// fixture (internal/testpki/pki/old.pem).
	want := exported{
		PEM:         old.CertPEM,
		Fingerprint: "EB:BF:A8:EC:42:25:6C:51:54:3C:09:F4:F7:81:0B:59:32:B1:99:70:48:D3:AC:0D:72:A5:6E:DD:3E:17:40:EF",
		Subject:     "CN=tenant.example,OU=Integration,O=Example Tenant,C=DE",
		NotAfter:    old.Certificate.NotAfter,
	}
	if diff := cmp.Diff(want, exportedOf(got)); diff != "" {
		t.Errorf("ExportCertificate() mismatch (-want +got):\n%s", diff)
	}
	// The copy is the caller's: changing it leaves the store's alone.
	got.Raw[0] ^= 0xff
	if again, err := s.ExportCertificate("old"); err != nil || !again.Equal(old.Certificate) {
		t.Errorf("ExportCertificate() after the caller changed its copy = %v, %v; want the certificate", again, err)
	}
	// PEM and DER read back.
	for _, data := range [][]byte{want.PEM, old.Certificate.Raw} {
		certs, err := ParseCertificates(data)
		if err != nil || len(certs) != 1 || !certs[0].Equal(old.Certificate) {
			t.Errorf("ParseCertificates(export) = %v, %v; want the certificate", certs, err)
		}
	}
	if _, err := s.ExportCertificate("stranger"); !errors.Is(err, ErrStatus) {
		t.Errorf("ExportCertificate(pending) error = %v, want %v", err, ErrStatus)
	}
	if _, err := s.ExportCertificate("nope"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("ExportCertificate(unknown) error = %v, want %v", err, ErrUnknownAlias)
	}
}

// An EC key is named as an unsupported algorithm, not by its Go type,
// and a bad alias names the characters allowed.
func TestParsePEM_algorithmNamed(t *testing.T) {
	t.Parallel()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	for _, block := range []*pem.Block{{Type: "PRIVATE KEY", Bytes: der}, {Type: "EC PRIVATE KEY", Bytes: sec1}} {
		_, err := ParsePEM(pem.EncodeToMemory(block), nil, "")
		if !errors.Is(err, ErrUnsupportedKey) || !strings.Contains(err.Error(), "unsupported key algorithm E") || strings.Contains(err.Error(), "*ecdsa") {
			t.Errorf("ParsePEM(%s) error = %v, want the algorithm named", block.Type, err)
		}
	}
	err = checkAlias("tenant 2027")
	if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), "'.', '_' and '-'") {
		t.Errorf("checkAlias() error = %v, want the allowed characters listed", err)
	}
}

// exported is what an administrator's export derives from a certificate.
type exported struct {
	PEM         []byte
	Fingerprint string
	Subject     string
	NotAfter    time.Time
}

func exportedOf(c *x509.Certificate) exported {
	return exported{
		PEM:         pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}),
		Fingerprint: wssec.FingerprintOf(c).String(),
		Subject:     c.Subject.String(),
		NotAfter:    c.NotAfter,
	}
}
