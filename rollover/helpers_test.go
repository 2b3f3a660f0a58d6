package rollover_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/wssec"
)

// testPassword protects the stores the tests create.
const testPassword = "rollover-store-password-for-tests"

// t0 is the fake clock's start: after the fixture certificates' notBefore
// and years before their notAfter.
var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

var ctx = context.Background()

// identities caches the fixtures: parsing a private key checks it, which
// costs more than most steps.
var identities sync.Map // name -> testpki.Identity

func load(name string) testpki.Identity {
	if id, ok := identities.Load(name); ok {
		return id.(testpki.Identity)
	}
	id := testpki.Load(name)
	identities.Store(name, id)
	return id
}

func fixture(name string) *keystore.Credential {
	id := load(name)
	return &keystore.Credential{Key: id.Key, Certificate: id.Certificate}
}

func fingerprint(name string) wssec.Fingerprint {
	return wssec.FingerprintOf(load(name).Certificate)
}

// env is a key store directory with a fake clock, as one process sees it:
// restart drops the Store and Manager and opens them again.
type env struct {
	t     *testing.T
	dir   string
	clock *fakeclock.Clock
	opts  rollover.Options
	logs  *proctest.LogBuffer
	// tokens is the stores' PKCS#11 module, nil unless a test uses tokens.
	tokens keystore.TokenModule

	store *keystore.Store
	m     *rollover.Manager
}

// newEnv creates a store whose current key is the fixture "old" under the
// alias "tenant-2025", and a Manager for it.
func newEnv(t *testing.T, opts rollover.Options) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "keys"), clock: fakeclock.New(t0), logs: &proctest.LogBuffer{}}
	opts.Now = e.clock.Now
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.opts = opts
	s, err := keystore.Create(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("keystore.Create() error = %v", err)
	}
	err = s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", fixture(testpki.Old), nil), tx.Rotate("tenant-2025"))
	})
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	e.restart()
	return e
}

// restart opens the store and builds a Manager again, as a new process
// would.
func (e *env) restart() {
	e.t.Helper()
	s, err := keystore.Open(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: e.clock.Now, Tokens: e.tokens})
	if err != nil {
		e.t.Fatalf("keystore.Open() error = %v", err)
	}
	m, err := rollover.NewManager(s, e.opts)
	if err != nil {
		e.t.Fatalf("NewManager() error = %v", err)
	}
	e.store, e.m = s, m
}

// resume returns the persisted stage.
func (e *env) resume() rollover.Stage {
	e.t.Helper()
	s, err := e.m.Resume(ctx)
	if err != nil {
		e.t.Fatalf("Resume() error = %v", err)
	}
	return s
}

// as asserts that s has type T.
func as[T rollover.Stage](t *testing.T, s rollover.Stage) T { return proctest.As[T](t, s) }

// must is [proctest.Must].
func must[T any](v T, err error) func(testing.TB) T { return proctest.Must(v, err) }

var (
	responseOnce sync.Once
	response     []byte
)

// sampleResponse returns the plaintext response receivers encrypt.
func sampleResponse(t testing.TB) []byte {
	t.Helper()
	responseOnce.Do(func() {
		response, _ = os.ReadFile("testdata/response.xml")
	})
	if len(response) == 0 {
		t.Fatal("testdata/response.xml missing")
	}
	return response
}

// encryptTo encrypts the sample response to cert, as a receiver does.
func encryptTo(t testing.TB, cert *x509.Certificate) []byte {
	t.Helper()
	msg, err := (&wssec.Encryptor{Certificate: cert}).Encrypt(sampleResponse(t))
	if err != nil {
		t.Fatalf("Encrypt() error = %v", err)
	}
	return msg
}

// decrypt decrypts msg with the live key ring of the env's store.
func (e *env) decrypt(msg []byte) (*wssec.Result, error) {
	ring, err := e.store.KeyRing()
	if err != nil {
		return nil, err
	}
	return (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
}

// receive decrypts a response encrypted to the fixture name, fails the
// test if it does not decrypt, and attributes it to receiver if not empty.
func (e *env) receive(name, receiver string) {
	e.t.Helper()
	res, err := e.decrypt(encryptTo(e.t, load(name).Certificate))
	if err != nil {
		e.t.Fatalf("Decrypt(response for %s) error = %v", name, err)
	}
	if receiver != "" {
		e.m.Observe(receiver, res)
	}
}

// record calls RecordUsage and reports whether it wrote.
func (e *env) record() bool {
	e.t.Helper()
	wrote, err := e.m.RecordUsage(ctx)
	if err != nil {
		e.t.Fatalf("RecordUsage() error = %v", err)
	}
	return wrote
}

// actions returns the actions of the audit trail.
func (e *env) actions() []string {
	e.t.Helper()
	h, err := rollover.History(e.store)
	if err != nil {
		e.t.Fatalf("History() error = %v", err)
	}
	var out []string
	for _, r := range h {
		a := string(r.Action)
		if r.Receiver != "" {
			a += " " + r.Receiver
		}
		out = append(out, a)
	}
	return out
}

// receivers returns the two receivers the tests provide certificates to.
func receivers(ids ...string) []rollover.Receiver {
	var out []rollover.Receiver
	for _, id := range ids {
		out = append(out, rollover.Receiver{ID: id, Description: "orders service of " + id})
	}
	return out
}

// toProvided walks from the idle stage through step 3 with the fixture
// "new" as the new key.
func (e *env) toProvided(ids ...string) *rollover.CertificateProvided {
	e.t.Helper()
	idle := as[*rollover.Idle](e.t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(e.t)
	added := must(created.AddToKeyStore(ctx))(e.t)
	return must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers(ids...), Note: "sent by mail"}))(e.t)
}

// toProvidedFrom walks from step 1 through step 3.
func (e *env) toProvidedFrom(created *rollover.KeyPairCreated) *rollover.CertificateProvided {
	e.t.Helper()
	added := must(created.AddToKeyStore(ctx))(e.t)
	return must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(e.t)
}

// otherProcess returns a Manager of another Store of the same directory,
// as a second process has.
func (e *env) otherProcess() *rollover.Manager {
	e.t.Helper()
	s, err := keystore.Open(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.Options{Now: e.clock.Now, Tokens: e.tokens})
	if err != nil {
		e.t.Fatalf("keystore.Open() error = %v", err)
	}
	return must(rollover.NewManager(s, e.opts))(e.t)
}

// toSwitched walks through step 6, every receiver confirming at once.
func (e *env) toSwitched(ids ...string) *rollover.ReceiversSwitched {
	e.t.Helper()
	p := e.toProvided(ids...)
	var s rollover.Stage = p
	for _, id := range ids {
		s = must(as[*rollover.CertificateProvided](e.t, s).ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: id, By: "admin of " + id, Reference: "OPS-" + id}))(e.t)
	}
	return as[*rollover.ReceiversSwitched](e.t, s)
}

// signRequest signs a PEM certificate request with the fixture CA, as a
// CA answers it.
func signRequest(t *testing.T, csrPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		t.Fatal("no PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	ca := load(testpki.CA)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(20001),
		Subject:      csr.Subject,
		NotBefore:    t0,
		NotAfter:     t0.Add(730 * day),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Certificate, csr.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return must(x509.ParseCertificate(der))(t)
}

// aliases returns the store's entries as "alias:status".
func aliases(s *keystore.Store) []string {
	var out []string
	for _, e := range s.Entries() {
		out = append(out, e.Alias+":"+e.Status.String())
	}
	return out
}
