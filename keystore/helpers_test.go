package keystore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

// testPassword protects the stores the tests create.
const testPassword = "store-password-for-tests"

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixture(name string) *Credential {
	id := testpki.Load(name)
	return &Credential{Key: id.Key, Certificate: id.Certificate}
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

// mustUpdate runs fn in an Update and fails the test on an error.
func mustUpdate(t *testing.T, s *Store, fn func(tx *Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update() error = %v", err)
	}
}
