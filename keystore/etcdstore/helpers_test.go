package etcdstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// testPassword protects the stores the tests create.
const testPassword = "store-password-for-tests"

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// prefixes makes every test's prefix unique, so tests can share a server.
var prefixes atomic.Int64

// newBackend returns a backend on a fresh prefix of cli.
func newBackend(t testing.TB, cli *clientv3.Client) *etcdstore.Backend {
	t.Helper()
	b, err := etcdstore.New(cli, fmt.Sprintf("/test/%s/%d", t.Name(), prefixes.Add(1)))
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return b
}

// single starts one etcd member and returns a client of it.
func single(t testing.TB) *clientv3.Client {
	t.Helper()
	return etcdtest.Start(t, 1).Client(t)
}

func fixture(name string) *keystore.Credential {
	id := testpki.Load(name)
	return &keystore.Credential{Key: id.Key, Certificate: id.Certificate}
}

// createStore creates an empty store on b.
func createStore(t testing.TB, b keystore.Backend, clock *fakeclock.Clock) *keystore.Store {
	t.Helper()
	s, err := keystore.Create(context.Background(), b, keystore.PasswordValue(testPassword), keystore.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return s
}

// openStore opens the store on b.
func openStore(t testing.TB, b keystore.Backend, clock *fakeclock.Clock) *keystore.Store {
	t.Helper()
	s, err := keystore.Open(context.Background(), b, keystore.PasswordValue(testPassword), keystore.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	return s
}

// currentStore creates a store on b whose current key is the fixture
// "old", under the alias "old".
func currentStore(t testing.TB, b keystore.Backend, clock *fakeclock.Clock) *keystore.Store {
	t.Helper()
	s := createStore(t, b, clock)
	err := s.Update(context.Background(), func(tx *keystore.Tx) error {
		if err := tx.Add("old", fixture(testpki.Old), nil); err != nil {
			return err
		}
		return tx.Rotate("old")
	})
	if err != nil {
		t.Fatalf("Update(add, rotate) error = %v", err)
	}
	return s
}

// statuses maps each entry's alias to its status.
func statuses(s *keystore.Store) map[string]string {
	m := map[string]string{}
	for _, e := range s.View().Entries() {
		m[e.Alias] = e.Status.String()
	}
	return m
}
