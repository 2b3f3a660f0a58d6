package pkcs11_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
	"github.com/wsrenew/wsrenew/wssec"
)

func TestGenerateTokenCredential(t *testing.T) {
	s, clock, dir := newTestStore(t)
	u := newToken(t, "tenant-next")
	ctx := context.Background()
	mustUpdate(t, s, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old"))
	})
	e, err := generateInToken(ctx, s, clock, "next", pkix.Name{CommonName: "tenant"}, u, keystore.GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateTokenCredential() error = %v", err)
	}
	got, err := keystore.ParseTokenURI(e.Location)
	if err != nil || got.Token != u.Token || got.Object != u.Object || len(got.ID) != 16 {
		t.Fatalf("entry location %q, want the token key with a 16-byte id", e.Location)
	}
	if _, err := generateInToken(ctx, s, clock, "next2", pkix.Name{CommonName: "tenant"}, got, keystore.GenerateOptions{Bits: 2048}); !errors.Is(err, keystore.ErrToken) {
		t.Errorf("GenerateTokenCredential(same id) error = %v, want %v", err, keystore.ErrToken)
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
	mustUpdate(t, s, func(tx *keystore.Tx) error {
		return errors.Join(tx.SetCertificate("next", signed, []*x509.Certificate{ca.Certificate}), tx.Rotate("next"))
	})
	if e2, _ := s.View().Entry("next"); e2.Location != e.Location || !e2.Certificate.Equal(signed) {
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
	_, err = keystore.Open(ctx, keystore.Dir(dir), keystore.PasswordValue("wrong-"+testPassword), options(clock))
	var ee *keystore.EntryError
	if !errors.As(err, &ee) || (ee.Alias != "next" && ee.Alias != "old") {
		t.Errorf("Open(wrong password) error = %v, want an *keystore.EntryError", err)
	}
}

// checkTokenRing decrypts through s's ring a message to cert, whose key
// is in SoftHSM2, with what SoftHSM2 performs, and checks that the rest is
// refused with ErrKeyCapability.
func checkTokenRing(t *testing.T, s *keystore.Store, cert *x509.Certificate) {
	t.Helper()
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := ring.Current()
	cd, ok := cur.Decrypter.(wssec.CapableDecrypter)
	if !ok {
		t.Fatalf("SoftHSM2 key %T is not a wssec.CapableDecrypter", cur.Decrypter)
	}
	for _, tc := range []struct {
		name string
		opts crypto.DecrypterOpts
		want bool
	}{
		{"oaep sha1", &rsa.OAEPOptions{Hash: crypto.SHA1}, false},
		{"oaep sha1 mgf1-sha1", &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}, false},
		{"oaep sha1 mgf1-sha256", &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA256}, true},
		{"oaep sha256", &rsa.OAEPOptions{Hash: crypto.SHA256}, true},
		{"oaep sha1 label", &rsa.OAEPOptions{Hash: crypto.SHA1, Label: []byte("l")}, true},
		{"pkcs1v15", &rsa.PKCS1v15DecryptOptions{}, false},
		{"pkcs1v15 session key", &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16}, true},
	} {
		if got := cd.Refuses(tc.opts); got != tc.want {
			t.Errorf("SoftHSM2 key Refuses(%s) = %v, want %v", tc.name, got, tc.want)
		}
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

func TestOpenTokenCredential(t *testing.T) {
	s1, _, _ := newTestStore(t)
	u := newToken(t, "imported")
	ctx := context.Background()
	e, err := generateInToken(ctx, s1, nil, "k", pkix.Name{CommonName: "tenant"}, u, keystore.GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateTokenCredential() error = %v", err)
	}
	s2, _, _ := newTestStore(t)
	byLabel := &keystore.TokenURI{ModulePath: u.ModulePath, Token: u.Token, Object: u.Object}
	if _, err := importFromToken(ctx, s2, "k", byLabel, fixture(testpki.Old).Certificate, nil); !errors.Is(err, keystore.ErrKeyMismatch) {
		t.Errorf("OpenTokenCredential(foreign certificate) error = %v, want %v", err, keystore.ErrKeyMismatch)
	}
	e2, err := importFromToken(ctx, s2, "k", byLabel, e.Certificate, map[string]string{"hsm": "softhsm2"})
	if err != nil {
		t.Fatalf("OpenTokenCredential() error = %v", err)
	}
	if !e2.Certificate.Equal(e.Certificate) || e2.Status != keystore.StatusPending {
		t.Errorf("OpenTokenCredential() entry = %v, want pending with the token key's certificate", e2)
	}
	missing := &keystore.TokenURI{ModulePath: u.ModulePath, Token: u.Token, Object: "absent"}
	if _, err := importFromToken(ctx, s2, "absent", missing, e.Certificate, nil); !errors.Is(err, keystore.ErrToken) {
		t.Errorf("OpenTokenCredential(absent key) error = %v, want %v", err, keystore.ErrToken)
	}
	noToken := &keystore.TokenURI{ModulePath: u.ModulePath, Token: "no-such-token", Object: "x"}
	if _, err := importFromToken(ctx, s2, "x", noToken, e.Certificate, nil); !errors.Is(err, keystore.ErrToken) {
		t.Errorf("OpenTokenCredential(absent token) error = %v, want %v", err, keystore.ErrToken)
	}
}

// TestModule_errors calls the module directly with what keystore never
// gives it, and with a wrong PIN, which must not appear in the error.
func TestModule_errors(t *testing.T) {
	if !tokensBuilt {
		t.Skip("built without cgo: TestModule_noCgo covers the module")
	}
	m := pkcs11.Module{}
	u := newToken(t, "module-errors")
	if _, err := m.OpenKey(nil, testPassword); !errors.Is(err, keystore.ErrInvalidTokenURI) {
		t.Errorf("OpenKey(nil URI) error = %v, want %v", err, keystore.ErrInvalidTokenURI)
	}
	if _, err := m.GenerateKey(u, "", 2048); !errors.Is(err, keystore.ErrNoPassword) {
		t.Errorf("GenerateKey(no PIN) error = %v, want %v", err, keystore.ErrNoPassword)
	}
	for _, n := range []int{-1, 1<<16 + 1} {
		if _, err := (pkcs11.Module{Sessions: n}).OpenKey(u, testPassword); !errors.Is(err, keystore.ErrInvalidOptions) {
			t.Errorf("Module{Sessions: %d}.OpenKey() error = %v, want %v", n, err, keystore.ErrInvalidOptions)
		}
	}
	const wrong = "wrong-pin-4711"
	_, err := m.OpenKey(u, wrong)
	var te *keystore.Error
	if !errors.As(err, &te) || !errors.Is(err, keystore.ErrToken) || te.Source != u.String() {
		t.Errorf("OpenKey(wrong PIN) error = %v, want a *Error with %v naming the URI", err, keystore.ErrToken)
	}
	if err != nil && strings.Contains(err.Error(), wrong) {
		t.Errorf("OpenKey(wrong PIN) error %q contains the PIN", err)
	}
}

// TestModule_sessions decrypts from more goroutines than the key has
// sessions: the surplus waits for a free session instead of failing.
func TestModule_sessions(t *testing.T) {
	if !tokensBuilt {
		t.Skip("built without cgo: TestModule_noCgo covers the module")
	}
	u := newToken(t, "sessions")
	c, err := keystore.GenerateTokenCredential(pkcs11.Module{Sessions: 1}, u, keystore.PasswordValue(testPassword), pkix.Name{CommonName: "sessions"}, keystore.GenerateOptions{Bits: 2048})
	if err != nil {
		t.Fatalf("GenerateTokenCredential() error = %v", err)
	}
	secret := []byte("a 32-byte content-encryption key")
	ct, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, c.Certificate.PublicKey.(*rsa.PublicKey), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines = 6
	errs := make(chan error, goroutines)
	for range goroutines {
		go func() {
			pt, err := c.Key.Decrypt(rand.Reader, ct, &rsa.OAEPOptions{Hash: crypto.SHA1})
			if err == nil && !bytes.Equal(pt, secret) {
				err = errors.New("wrong plaintext")
			}
			errs <- err
		}()
	}
	for range goroutines {
		if err := <-errs; err != nil {
			t.Errorf("Decrypt() with one session for %d goroutines: error = %v", goroutines, err)
		}
	}
}
