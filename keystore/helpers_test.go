package keystore

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// testPassword protects the stores the tests create.
const testPassword = "store-password-for-tests"

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixture(name string) *Credential {
	id := testpki.Load(name)
	return &Credential{Key: id.Key, Certificate: id.Certificate}
}

func fingerprint(name string) wssec.Fingerprint {
	return wssec.FingerprintOf(testpki.Load(name).Certificate)
}

// newTestStore creates an empty store in a fresh directory.
func newTestStore(t *testing.T) (*Store, *fakeclock.Clock, string) {
	t.Helper()
	clock := fakeclock.New(t0)
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Create(context.Background(), Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return s, clock, dir
}

// openTestStore opens the store in dir with the test password.
func openTestStore(t *testing.T, dir string, clock *fakeclock.Clock) *Store {
	t.Helper()
	s, err := Open(context.Background(), Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return s
}

// mustUpdate runs fn in an Update and fails the test on an error.
func mustUpdate(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
}

// ringStore returns a store whose current key is "new" and whose retained
// key is "old" (no expiry), with "stranger" pending.
func ringStore(t *testing.T) (*Store, *fakeclock.Clock, string) {
	t.Helper()
	s, clock, dir := newTestStore(t)
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(
			tx.Add("old", fixture(testpki.Old), nil),
			tx.Rotate("old"),
			tx.Add("new", fixture(testpki.New), map[string]string{"ticket": "OPS-1"}),
			tx.Rotate("new"),
			tx.Add("stranger", fixture(testpki.Stranger), nil),
		)
	})
	return s, clock, dir
}

// view is the comparable part of an entry.
type view struct {
	Alias   string
	Status  Status
	Expires time.Time
	FP      string
	Labels  map[string]string
}

func views(entries []Entry) []view {
	out := make([]view, len(entries))
	for i, e := range entries {
		out[i] = view{e.Alias, e.Status, e.Expires, e.Fingerprint.String(), e.Labels}
	}
	return out
}

// ringView is the comparable part of a key ring entry.
type ringView struct {
	Name    string
	Status  wssec.Status
	Expires time.Time
	FP      string
}

func ringViews(r *wssec.KeyRing) []ringView {
	var out []ringView
	for _, e := range r.Snapshot() {
		out = append(out, ringView{e.Name, e.Status, e.Expires, e.Fingerprint.String()})
	}
	return out
}

// selfSigned returns a certificate for key signed by key itself, made
// without generating a key.
func selfSigned(t *testing.T, key *rsa.PrivateKey, cn string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(77),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    t0,
		NotAfter:     t0.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
