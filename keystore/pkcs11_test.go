package keystore

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

func TestParseTokenURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    *TokenURI
		canon   string
		wantErr error
	}{
		{
			name:  "label and id",
			in:    "pkcs11:token=wsrenew;object=tenant;id=%01%A2?module-path=/usr/lib/softhsm/libsofthsm2.so",
			want:  &TokenURI{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", Token: "wsrenew", Object: "tenant", ID: []byte{1, 0xa2}},
			canon: "pkcs11:token=wsrenew;object=tenant;id=%01%a2?module-path=/usr/lib/softhsm/libsofthsm2.so",
		},
		{
			name:  "serial, escaped label, type",
			in:    "pkcs11:serial=abc;object=my%20key;type=private?module-path=/m.so",
			want:  &TokenURI{ModulePath: "/m.so", Serial: "abc", Object: "my key"},
			canon: "pkcs11:serial=abc;object=my%20key?module-path=/m.so",
		},
		{name: "other scheme", in: "blob:x.1.p12", wantErr: ErrInvalidTokenURI},
		{name: "no module", in: "pkcs11:token=a;object=b", wantErr: ErrInvalidTokenURI},
		{name: "relative module", in: "pkcs11:token=a;object=b?module-path=libsofthsm2.so", wantErr: ErrInvalidTokenURI},
		{name: "no token", in: "pkcs11:object=b?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "two token selectors", in: "pkcs11:token=a;serial=s;object=b?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "no key selector", in: "pkcs11:token=a?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "unknown attribute", in: "pkcs11:token=a;object=b;slot-id=1?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "pin in URI", in: "pkcs11:token=a;object=b?module-path=/m.so&pin-value=1234", wantErr: ErrInvalidTokenURI},
		{name: "repeated", in: "pkcs11:token=a;token=b;object=b?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "public key", in: "pkcs11:token=a;object=b;type=public?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "bad escape", in: "pkcs11:token=a;object=%zz?module-path=/m.so", wantErr: ErrInvalidTokenURI},
		{name: "too long", in: "pkcs11:token=" + strings.Repeat("a", 3000), wantErr: ErrInvalidTokenURI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTokenURI(tc.in)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("ParseTokenURI(%q) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseTokenURI(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
			if s := got.String(); s != tc.canon {
				t.Errorf("String() = %q, want %q", s, tc.canon)
			}
			if again, err := ParseTokenURI(got.String()); err != nil || !cmp.Equal(again, got) {
				t.Errorf("ParseTokenURI(String()) = %v, %v, want the same URI", again, err)
			}
		})
	}
}

// newToken returns a URI for a new key object in the test binary's
// SoftHSM2 token, whose user PIN is the test store password.
func newToken(t *testing.T, object string) *TokenURI {
	t.Helper()
	if !tokensBuilt {
		t.Skip("built without cgo: no PKCS#11")
	}
	h := interop.RequireSoftHSM(t, testPassword)
	return &TokenURI{ModulePath: h.Module, Token: h.Token, Object: object}
}

func TestStore_GenerateInToken(t *testing.T) {
	s, clock, dir := newTestStore(t)
	u := newToken(t, "tenant-next")
	ctx := context.Background()
	mustUpdate(t, s, func(tx *Tx) error { return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old")) })
	e, err := s.GenerateInToken(ctx, "next", pkix.Name{CommonName: "tenant"}, u, GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateInToken() error = %v", err)
	}
	got, ok := e.InToken()
	if !ok || got.Token != u.Token || got.Object != u.Object || len(got.ID) != 16 {
		t.Fatalf("entry location %q, want the token key with a 16-byte id", e.Location)
	}
	if _, err := s.GenerateInToken(ctx, "next2", pkix.Name{CommonName: "tenant"}, got, GenerateOptions{Bits: 2048}); !errors.Is(err, ErrToken) {
		t.Errorf("GenerateInToken(same id) error = %v, want %v", err, ErrToken)
	}

	// Adopt a CA-signed certificate for the token key: the location stays.
	csrPEM, err := s.CertificateRequest("next")
	if err != nil {
		t.Fatalf("CertificateRequest() error = %v", err)
	}
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		t.Fatalf("CertificateRequest() is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("certificate request from the token does not verify: %v", err)
	}
	ca := testpki.Load(testpki.CA)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1234), Subject: csr.Subject, NotBefore: t0, NotAfter: t0.Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, csr.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	signed, _ := x509.ParseCertificate(der)
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.SetCertificate("next", signed, []*x509.Certificate{ca.Certificate}), tx.Rotate("next"))
	})
	if e2, _ := s.Entry("next"); e2.Location != e.Location || !e2.Certificate.Equal(signed) {
		t.Errorf("after SetCertificate: location %q, want %q, and the CA-signed certificate", e2.Location, e.Location)
	}

	// The ring decrypts with the token key what it can perform, and
	// refuses the rest before using it.
	checkTokenRing(t, s, signed)
	if _, err := s.ExportPKCS12("next", "x"); err == nil {
		t.Errorf("ExportPKCS12(token entry) error = nil, want an error")
	}

	// Another Store on the same directory opens the token key.
	s2 := openTestStore(t, dir, clock)
	checkTokenRing(t, s2, signed)

	// A wrong PIN (the store's password) names the token entry.
	_, err = Open(ctx, Dir(dir), PasswordValue("wrong-"+testPassword), Options{Now: clock.Now})
	var ee *EntryError
	if !errors.As(err, &ee) || (ee.Alias != "next" && ee.Alias != "old") {
		t.Errorf("Open(wrong password) error = %v, want an *EntryError", err)
	}
}

// checkTokenRing decrypts through s's ring a message to cert, whose key
// is in SoftHSM2, with what SoftHSM2 performs, and checks that the rest is
// refused with ErrKeyCapability.
func checkTokenRing(t *testing.T, s *Store, cert *x509.Certificate) {
	t.Helper()
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := ring.Current()
	want := wssec.Capabilities{OAEP: []wssec.OAEPParameters{{Digest: crypto.SHA1, MGF: crypto.SHA1}}, NoOAEPLabel: true, RSA15: wssec.RSA15Plain}
	if diff := cmp.Diff(want, wssec.CapabilitiesOf(cur.Decrypter)); diff != "" {
		t.Errorf("SoftHSM2 key capabilities mismatch (-want +got):\n%s", diff)
	}
	dec := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true}}
	env := []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>token</x></soap:Body></soap:Envelope>`)
	for _, tc := range []struct {
		enc     wssec.Encryptor
		wantErr error
	}{
		{wssec.Encryptor{KeyTransport: wssec.RSAOAEPMGF1P}, nil},
		{wssec.Encryptor{OAEPDigest: crypto.SHA1}, nil},
		{wssec.Encryptor{KeyTransport: wssec.RSA15}, nil},
		{wssec.Encryptor{}, wssec.ErrKeyCapability},
	} {
		tc.enc.Certificate = cert
		msg, err := tc.enc.Encrypt(env)
		if err != nil {
			t.Fatal(err)
		}
		res, err := dec.Decrypt(msg)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("Decrypt(%s) error = %v, want %v", tc.enc.KeyTransport, err, tc.wantErr)
			continue
		}
		if err == nil && !strings.Contains(string(res.Envelope), "<x>token</x>") {
			t.Errorf("Decrypt(%s) envelope = %s", tc.enc.KeyTransport, res.Envelope)
		}
	}
}

func TestStore_ImportFromToken(t *testing.T) {
	s1, _, _ := newTestStore(t)
	u := newToken(t, "imported")
	ctx := context.Background()
	e, err := s1.GenerateInToken(ctx, "k", pkix.Name{CommonName: "tenant"}, u, GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateInToken() error = %v", err)
	}
	s2, _, _ := newTestStore(t)
	byLabel := &TokenURI{ModulePath: u.ModulePath, Token: u.Token, Object: u.Object}
	if _, err := s2.ImportFromToken(ctx, "k", byLabel, fixture(testpki.Old).Certificate, nil, nil); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("ImportFromToken(foreign certificate) error = %v, want %v", err, ErrKeyMismatch)
	}
	e2, err := s2.ImportFromToken(ctx, "k", byLabel, e.Certificate, nil, map[string]string{"hsm": "softhsm2"})
	if err != nil {
		t.Fatalf("ImportFromToken() error = %v", err)
	}
	if !e2.Certificate.Equal(e.Certificate) || e2.Status != StatusPending {
		t.Errorf("ImportFromToken() entry = %v, want pending with the token key's certificate", e2)
	}
	missing := &TokenURI{ModulePath: u.ModulePath, Token: u.Token, Object: "absent"}
	if _, err := s2.ImportFromToken(ctx, "absent", missing, e.Certificate, nil, nil); !errors.Is(err, ErrToken) {
		t.Errorf("ImportFromToken(absent key) error = %v, want %v", err, ErrToken)
	}
	noToken := &TokenURI{ModulePath: u.ModulePath, Token: "no-such-token", Object: "x"}
	if _, err := s2.ImportFromToken(ctx, "x", noToken, e.Certificate, nil, nil); !errors.Is(err, ErrToken) {
		t.Errorf("ImportFromToken(absent token) error = %v, want %v", err, ErrToken)
	}
}
