package pkcs11_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
)

// testPassword protects the stores the tests create and is the user PIN
// of the test binary's SoftHSM2 token.
const testPassword = "store-password-for-tests"

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixture(name string) *keystore.Credential {
	id := testpki.Load(name)
	return &keystore.Credential{Key: id.Key, Certificate: id.Certificate}
}

// options are the options of the test stores: the fake clock and the
// PKCS#11 module.
func options(clock *fakeclock.Clock) keystore.Options {
	return keystore.Options{Now: clock.Now, Tokens: pkcs11.Module{}}
}

// newTestStore creates an empty store that uses tokens in a fresh
// directory.
func newTestStore(t *testing.T) (*keystore.Store, *fakeclock.Clock, string) {
	t.Helper()
	clock := fakeclock.New(t0)
	dir := filepath.Join(t.TempDir(), "store")
	s, err := keystore.Create(context.Background(), keystore.Dir(dir), keystore.PasswordValue(testPassword), options(clock))
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return s, clock, dir
}

// openTestStore opens the store in dir with the test password.
func openTestStore(t *testing.T, dir string, clock *fakeclock.Clock) *keystore.Store {
	t.Helper()
	s, err := keystore.Open(context.Background(), keystore.Dir(dir), keystore.PasswordValue(testPassword), options(clock))
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return s
}

// mustUpdate runs fn in an Update and fails the test on an error.
func mustUpdate(t *testing.T, s *keystore.Store, fn func(tx *keystore.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
}

// newToken returns a URI for a new key object in the test binary's
// SoftHSM2 token, whose user PIN is the test store password.
func newToken(t *testing.T, object string) *keystore.TokenURI {
	t.Helper()
	if !tokensBuilt {
		t.Skip("built without cgo: no PKCS#11")
	}
	h := interop.RequireSoftHSM(t, testPassword)
	return &keystore.TokenURI{ModulePath: h.Module, Token: h.Token, Object: object}
}

// generateInToken generates a key in the token u names, with the test PIN
// and the fake clock, and adds it to s under alias as a pending entry.
func generateInToken(ctx context.Context, s *keystore.Store, clock *fakeclock.Clock, alias string, subject pkix.Name, u *keystore.TokenURI, opts keystore.GenerateOptions) (keystore.Entry, error) {
	if clock != nil {
		opts.Now = clock.Now
	}
	c, err := keystore.GenerateTokenCredential(pkcs11.Module{}, u, keystore.PasswordValue(testPassword), subject, opts)
	if err != nil {
		return keystore.Entry{}, err
	}
	return addCredential(ctx, s, alias, c, nil)
}

// importFromToken opens the key u names with cert and adds it to s under
// alias as a pending entry.
func importFromToken(ctx context.Context, s *keystore.Store, alias string, u *keystore.TokenURI, cert *x509.Certificate, labels map[string]string) (keystore.Entry, error) {
	c, err := keystore.OpenTokenCredential(pkcs11.Module{}, u, keystore.PasswordValue(testPassword), cert, nil)
	if err != nil {
		return keystore.Entry{}, err
	}
	return addCredential(ctx, s, alias, c, labels)
}

// addCredential adds c to s under alias and returns the new entry.
func addCredential(ctx context.Context, s *keystore.Store, alias string, c *keystore.Credential, labels map[string]string) (keystore.Entry, error) {
	if err := s.Update(ctx, func(tx *keystore.Tx) error { return tx.Add(alias, c, labels) }); err != nil {
		return keystore.Entry{}, err
	}
	return s.View().Entry(alias)
}
