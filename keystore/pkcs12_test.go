package keystore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// p12Password protects the PKCS#12 files in testdata (see README.md).
const p12Password = "p12-test-password"

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// credView is the comparable part of a credential.
type credView struct {
	Leaf  string
	Chain []string
}

func credViewOf(c *Credential) credView {
	v := credView{Leaf: fingerprintOf(c.Certificate)}
	for _, ch := range c.Chain {
		v.Chain = append(v.Chain, fingerprintOf(ch))
	}
	return v
}

func fingerprintOf(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	return c.Subject.CommonName + " " + wssec.FingerprintOf(c).String()
}

// The files third-party tools wrote (testdata/README.md).
func TestParsePKCS12_tools(t *testing.T) {
	t.Parallel()
	old, nw, ca := testpki.Load(testpki.Old), testpki.Load(testpki.New), testpki.Load(testpki.CA)
	withCA := func(id testpki.Identity) credView {
		return credView{Leaf: fingerprintOf(id.Certificate), Chain: []string{fingerprintOf(ca.Certificate)}}
	}
	tests := []struct {
		file string
		want credView
		key  testpki.Identity
	}{
		{"openssl-modern.p12", withCA(old), old},
		{"openssl-legacy.p12", withCA(old), old},
		{"openssl-3des.p12", credView{Leaf: fingerprintOf(old.Certificate)}, old},
		{"keytool.p12", withCA(nw), nw},
		{"keytool-legacy.p12", withCA(nw), nw},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data := readTestdata(t, tc.file)
			c, err := ParsePKCS12(data, p12Password)
			if err != nil {
				t.Fatalf("ParsePKCS12(%s) error = %v", tc.file, err)
			}
			if diff := cmp.Diff(tc.want, credViewOf(c)); diff != "" {
				t.Errorf("ParsePKCS12(%s) mismatch (-want +got):\n%s", tc.file, diff)
			}
			if !tc.key.Key.PublicKey.Equal(c.Key.Public()) {
				t.Errorf("ParsePKCS12(%s) key is not the fixture's", tc.file)
			}
			if _, err := ParsePKCS12(data, "wrong"); !errors.Is(err, ErrWrongPassword) {
				t.Errorf("ParsePKCS12(%s, wrong) error = %v, want %v", tc.file, err, ErrWrongPassword)
			}
		})
	}
}

func TestParsePKCS12_errors(t *testing.T) {
	t.Parallel()
	old, stranger, ca := testpki.Load(testpki.Old), testpki.Load(testpki.Stranger), testpki.Load(testpki.CA)
	encode := func(key any, cert *x509.Certificate, chain ...*x509.Certificate) []byte {
		b, err := gopkcs12.Modern.Encode(key, cert, chain, p12Password)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A structure shaped like PBKDF2-params with a huge iteration count.
	hugeIterations, _ := asn1.Marshal(struct {
		Version int
		Params  struct {
			Salt       []byte
			Iterations int
		}
	}{3, struct {
		Salt       []byte
		Iterations int
	}{[]byte("salt"), maxKDFIterations + 1}})

	tests := []struct {
		name     string
		data     []byte
		password string
		wantErr  error
		wantText string
	}{
		{name: "nil", data: nil, wantErr: ErrMalformed},
		{name: "garbage", data: []byte("not a PKCS#12 file"), wantErr: ErrMalformed},
		{name: "PEM", data: old.CertPEM, wantErr: ErrMalformed},
		{name: "too large", data: make([]byte, maxImportBytes+1), wantErr: ErrMalformed, wantText: "larger than"},
		{name: "too many iterations", data: hugeIterations, wantErr: ErrMalformed, wantText: "iterations"},
		{name: "certificate of another key", data: encode(old.Key, stranger.Certificate), password: p12Password, wantErr: ErrKeyMismatch},
		{name: "EC key", data: encode(ecKey, old.Certificate), password: p12Password, wantErr: ErrUnsupportedKey},
		{name: "wrong password", data: encode(old.Key, old.Certificate), password: "nope", wantErr: ErrWrongPassword},
		{name: "leaf after CA", data: encode(old.Key, ca.Certificate, old.Certificate), password: p12Password},
		{name: "leaf twice", data: encode(old.Key, old.Certificate, ca.Certificate, old.Certificate), password: p12Password},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParsePKCS12(tc.data, tc.password)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParsePKCS12() error = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Source != "PKCS#12" {
					t.Errorf("ParsePKCS12() error = %#v, want a *Error for PKCS#12", err)
				}
				if !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("ParsePKCS12() error = %q, want it to contain %q", err, tc.wantText)
				}
				return
			}
			want := credView{Leaf: fingerprintOf(old.Certificate), Chain: []string{fingerprintOf(ca.Certificate)}}
			if diff := cmp.Diff(want, credViewOf(c)); diff != "" {
				t.Errorf("ParsePKCS12() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckIterations(t *testing.T) {
	t.Parallel()
	params := func(n int) []byte {
		b, _ := asn1.Marshal(struct {
			Salt       []byte
			Iterations int
		}{[]byte("salt"), n})
		return b
	}
	// The parameters inside an OCTET STRING, as PKCS#12 nests content.
	wrapped := func(n int) []byte {
		b, _ := asn1.Marshal(params(n))
		return b
	}
	tests := []struct {
		name    string
		der     []byte
		wantErr bool
	}{
		{"limit", params(maxKDFIterations), false},
		{"above limit", params(maxKDFIterations + 1), true},
		{"nested above limit", wrapped(maxKDFIterations + 1), true},
		{"nested at limit", wrapped(2048), false},
		{"not DER", []byte{0x30, 0x80}, false},
	}
	for _, tc := range tests {
		if err := checkIterations(tc.der, 0); (err != nil) != tc.wantErr {
			t.Errorf("checkIterations(%s) error = %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
	deep := params(1)
	for range 40 {
		deep, _ = asn1.Marshal(deep)
	}
	if err := checkIterations(deep, 0); err == nil {
		t.Errorf("checkIterations(40 nested OCTET STRINGs) error = nil, want an error")
	}
}

// An entry exported as PKCS#12 imports again with its key, certificate and
// chain.
func TestStore_ExportPKCS12(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	old, ca := testpki.Load(testpki.Old), testpki.Load(testpki.CA)
	c := &Credential{Key: old.Key, Certificate: old.Certificate, Chain: []*x509.Certificate{ca.Certificate}}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Add("old", c, nil) })

	data, err := s.ExportPKCS12("old", "export-password")
	if err != nil {
		t.Fatalf("ExportPKCS12() error = %v", err)
	}
	got, err := ParsePKCS12(data, "export-password")
	if err != nil {
		t.Fatalf("ParsePKCS12(export) error = %v", err)
	}
	if diff := cmp.Diff(credViewOf(c), credViewOf(got)); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if !old.Key.Equal(got.Key) {
		t.Errorf("round trip changed the private key")
	}
	if _, err := s.ExportPKCS12("old", ""); !errors.Is(err, ErrNoPassword) {
		t.Errorf("ExportPKCS12(empty password) error = %v, want %v", err, ErrNoPassword)
	}
	if _, err := s.ExportPKCS12("nope", "x"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("ExportPKCS12(unknown) error = %v, want %v", err, ErrUnknownAlias)
	}
}
