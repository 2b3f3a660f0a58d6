package signer_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/rollover/signer"
	"github.com/wsrenew/wsrenew/wssec"
)

const (
	// storePassword protects the stores the tests create, and
	// crashChildEnv names the store directory of the crash test's child.
	storePassword = "signer-store-password-for-tests"
	crashChildEnv = "WSRENEW_SIGNER_CRASH_CHILD"
	day           = 24 * time.Hour
)

var (
	ctx = context.Background()
	// t0 is the fake clock's start: after the fixture certificates'
	// notBefore and years before their notAfter.
	t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)
)

// load returns a fixture identity; the tests use its certificate.
func load(name string) testpki.Identity { return testpki.Load(name) }

func fingerprint(name string) wssec.Fingerprint { return wssec.FingerprintOf(load(name).Certificate) }

// must is [proctest.Must].
func must[T any](v T, err error) func(testing.TB) T { return proctest.Must(v, err) }

// env is a key store directory with a fake clock, as one process sees
// it: restart drops the Store and Manager and opens them again. The
// store's current key is the fixture "old", for the Decryptors that
// verify the partner's signed and encrypted responses.
type env struct {
	t     *testing.T
	dir   string
	clock *fakeclock.Clock
	opts  rollover.Options
	logs  *proctest.LogBuffer

	store *keystore.Store
	m     *signer.Manager
}

func newEnv(t *testing.T, opts rollover.Options) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "keys"), clock: fakeclock.New(t0), logs: &proctest.LogBuffer{}}
	opts.Now = e.clock.Now
	opts.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.opts = opts
	s, err := keystore.Create(ctx, keystore.Dir(e.dir), keystore.PasswordValue(storePassword), keystore.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("keystore.Create() error = %v", err)
	}
	old := load(testpki.Old)
	err = s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", &keystore.Credential{Key: old.Key, Certificate: old.Certificate}, nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	e.restart()
	return e
}

// open opens the env's store as another process does.
func (e *env) open() *keystore.Store {
	e.t.Helper()
	s, err := keystore.Open(ctx, keystore.Dir(e.dir), keystore.PasswordValue(storePassword), keystore.Options{Now: e.clock.Now})
	if err != nil {
		e.t.Fatalf("keystore.Open() error = %v", err)
	}
	return s
}

// restart opens the store and builds a Manager again, as a new process
// would.
func (e *env) restart() {
	e.t.Helper()
	e.store = e.open()
	e.m = must(signer.New(e.store, e.opts))(e.t)
}

// otherProcess returns a Manager of another Store of the same directory.
func (e *env) otherProcess() *signer.Manager {
	e.t.Helper()
	return must(signer.New(e.open(), e.opts))(e.t)
}

// processWith returns a Manager of another Store of the same directory
// with the Policy p.
func (e *env) processWith(p rollover.Policy) *signer.Manager {
	e.t.Helper()
	opts := e.opts
	opts.Policy = p
	return must(signer.New(e.open(), opts))(e.t)
}

// record calls RecordUsage and reports whether it wrote.
func (e *env) record() bool { return must(e.m.RecordUsage(ctx))(e.t) }
