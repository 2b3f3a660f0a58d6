package rollover_test

import (
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/wssec"
)

// crashChildEnv names the store directory of the child process that takes
// the steps; the child test runs only when it is set.
const crashChildEnv = "WSRENEW_ROLLOVER_CRASH_CHILD"

// lastActions are the audit records a step that reaches each stage may
// leave last.
var lastActions = map[rollover.StageName][]rollover.Action{
	rollover.StageKeyPairCreated:      {rollover.ActionImportKeyPair, rollover.ActionAdoptCertificate},
	rollover.StageKeyAdded:            {rollover.ActionAddToKeyStore},
	rollover.StageCertificateProvided: {rollover.ActionProvideCertificate, rollover.ActionWithdrawConfirmation, rollover.ActionNewKeyFirstUse, rollover.ActionConfirmReceiverSwitched},
	rollover.StageReceiversSwitched:   {rollover.ActionSetOldKeyExpiry},
	// At idle the child also destroys the disabled old key with a note
	// (the destroy-key record comes before the note).
	rollover.StageIdle: {rollover.ActionRemoveOldKey, rollover.ActionDisableOldKey, rollover.ActionNote, rollover.ActionCancel},
}

// TestProcedure_crash runs a child process that resumes the procedure and
// takes its steps in a loop, renewal after renewal (cancelled after step
// 1 or 2, with an adopted CA certificate, with usage recording and a
// withdrawn confirmation), and kills it with SIGKILL at random moments.
// After each kill the store must open, the procedure must resume with
// keys and state in agreement, the audit trail must end with the record
// of the stage reached and have lost nothing, the stage must be the one
// before or after the step the child was taking, the old key's expiry
// must be the procedure's, and the ring must decrypt with every key it
// holds.
func TestProcedure_crash(t *testing.T) {
	kills, rng := proctest.CrashStart(t, crashChildEnv)
	e := newEnv(t, rollover.Options{})

	var history []rollover.Record
	stages := map[rollover.StageName]int{}
	for i := range kills {
		announced := runChild(t, e.dir, rng)
		e.restart()
		s, err := e.m.Resume(ctx)
		if err != nil {
			t.Fatalf("kill %d: Resume() error = %v", i, err)
		}
		stages[s.Report().Stage]++
		if _, err := e.store.KeyRing(); err != nil {
			t.Fatalf("kill %d: KeyRing() error = %v", i, err)
		}
		got := must(rollover.History(e.store))(t)
		history = proctest.Grown(t, i, history, got)
		if n := len(got); n > 0 && !slices.Contains(lastActions[s.Report().Stage], got[n-1].Action) {
			t.Fatalf("kill %d: stage %s, but the last record is %s", i, s.Report().Stage, got[n-1].Action)
		}
		checkAfterKill(t, i, e, s)
		if len(announced) > 0 {
			last := announced[len(announced)-1]
			if s.Report().Stage != last.from && s.Report().Stage != last.to {
				t.Fatalf("kill %d: stage %s, but the child was going from %s to %s", i, s.Report().Stage, last.from, last.to)
			}
		}
	}
	actions := map[rollover.Action]int{}
	for _, r := range history {
		actions[r.Action]++
	}
	t.Logf("%d kills; stages found: %v; %d audit records: %v; keys lost: 0", kills, stages, len(history), actions)
}

type crashStep struct{ from, to rollover.StageName }

// runChild starts the child, kills it after a random number of steps and
// a random amount of work, and returns the steps it announced.
func runChild(t *testing.T, dir string, rng *rand.Rand) []crashStep {
	t.Helper()
	var steps []crashStep
	for _, s := range proctest.RunChild(t, crashChildEnv, "TestProcedure_crashChild", dir, rng) {
		steps = append(steps, crashStep{rollover.StageName(s[0]), rollover.StageName(s[1])})
	}
	return steps
}

// checkAfterKill checks the old key's expiry and that the ring decrypts
// with every key of the store at stage s.
func checkAfterKill(t *testing.T, kill int, e *env, s rollover.Stage) {
	t.Helper()
	r := s.Report()
	for _, en := range e.store.Entries() {
		if en.Status == keystore.StatusPending {
			continue
		}
		if r.Old != nil && en.Alias == r.Old.Alias {
			switch r.Stage {
			case rollover.StageReceiversSwitched:
				if !en.Expires.Equal(r.OldKeyExpires) || en.Expires.IsZero() {
					t.Fatalf("kill %d: old key expires %v, the procedure says %v", kill, en.Expires, r.OldKeyExpires)
				}
			case rollover.StageKeyAdded, rollover.StageCertificateProvided:
				if !en.Expires.IsZero() {
					t.Fatalf("kill %d: old key expires %v at stage %s, want no expiry", kill, en.Expires, r.Stage)
				}
			}
		}
		_, err := e.decrypt(encryptTo(t, en.Certificate))
		if en.Status == keystore.StatusDisabled {
			if !errors.Is(e.store.CheckRefusal(err, nil), keystore.ErrKeyDisabled) {
				t.Fatalf("kill %d: a message to disabled key %s: %v, want %v", kill, en.Alias, err, keystore.ErrKeyDisabled)
			}
			continue
		}
		if err != nil {
			t.Fatalf("kill %d: the ring does not decrypt with %s: %v", kill, en.Alias, err)
		}
	}
}

// crashSelfSigned returns the same self-signed certificate of the
// fixture's key every time (RSA PKCS #1 v1.5 signatures are
// deterministic), as a generated key has before a CA's is adopted.
func crashSelfSigned(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	id := load(name)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "pending"},
		NotBefore: t0.Add(-day), NotAfter: t0.Add(3000 * day), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &id.Key.PublicKey, id.Key)
	if err != nil {
		t.Fatal(err)
	}
	return must(x509.ParseCertificate(der))(t)
}

// TestProcedure_crashChild is the child of TestProcedure_crash. It
// resumes the procedure in the store and takes step after step, a day
// apart (91 days before removing the old key), announcing on stdout
// "step FROM TO" before each step. Renewal r goes by r mod 4: 1 is
// cancelled after step 1, 2 after step 2; 3 adopts a CA certificate and
// withdraws a confirmation; every renewal that reaches step 3 records
// usage of both keys before the confirmation.
func TestProcedure_crashChild(t *testing.T) {
	clock := fakeclock.New(t0)
	store := proctest.OpenChild(t, crashChildEnv, testPassword, clock.Now)
	// Continue the clock from the latest time recorded.
	if h := must(rollover.History(store))(t); len(h) > 0 && h[len(h)-1].Time.After(clock.Now()) {
		clock.Set(h[len(h)-1].Time)
	}
	if l := store.Latest(); l.After(clock.Now()) {
		clock.Set(l)
	}
	clock.Advance(time.Hour)
	m := must(rollover.NewManager(store, rollover.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}))(t)
	say := func(from, to rollover.StageName) {
		os.Stdout.WriteString(fmt.Sprintf("step %s %s\n", from, to))
	}
	withdrawn := func(renewal uint64) bool {
		for _, r := range must(rollover.History(store))(t) {
			if r.Renewal == renewal && r.Partner == "" && r.Action == rollover.ActionWithdrawConfirmation {
				return true
			}
		}
		return false
	}
	for {
		s := must(m.Resume(ctx))(t)
		clock.Advance(day)
		kind := s.Report().Renewal % 4
		switch s := s.(type) {
		case *rollover.Idle:
			crashIdle(t, clock, store, m, s, say)
		case *rollover.KeyPairCreated:
			crashCreated(t, store, s, kind, say)
		case *rollover.KeyAdded:
			if kind == 2 {
				say(s.Report().Stage, rollover.StageIdle)
				must(s.Cancel(ctx, "crash test"))(t)
				continue
			}
			say(s.Report().Stage, rollover.StageCertificateProvided)
			must(s.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(t)
		case *rollover.CertificateProvided:
			r := s.Report()
			if r.FirstNewKeyUse.IsZero() {
				for _, k := range []*rollover.KeyReport{r.New, r.Old} {
					res, err := (&wssec.Decryptor{Keys: must(store.KeyRing())(t)}).Decrypt(encryptTo(t, must(store.Entry(k.Alias))(t).Certificate))
					if err != nil {
						t.Fatal(err)
					}
					m.Observe("partner-a", res)
				}
				say(s.Report().Stage, s.Report().Stage)
				must(m.RecordUsage(ctx))(t)
				continue
			}
			say(s.Report().Stage, rollover.StageReceiversSwitched)
			must(s.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a"}))(t)
		case *rollover.ReceiversSwitched:
			if kind == 3 && !withdrawn(s.Report().Renewal) {
				say(s.Report().Stage, rollover.StageCertificateProvided)
				must(s.WithdrawConfirmation(ctx, "partner-a", "crash test"))(t)
				continue
			}
			clock.Advance(91 * day)
			say(s.Report().Stage, rollover.StageIdle)
			must(s.RemoveOldKey(ctx))(t)
		}
	}
}

// crashIdle takes the next step of the crash child from the idle stage
// s: destroying a disabled old key, or step 1 of the next renewal.
func crashIdle(t *testing.T, clock *fakeclock.Clock, store *keystore.Store, m *rollover.Manager, s *rollover.Idle, say func(from, to rollover.StageName)) {
	if disabled := disabledEntries(store); len(disabled) > 0 {
		// Step 7 disabled the old key: destroy it once its
		// restore window has passed, on the next change.
		clock.Advance(keystore.DefaultRestoreWindow)
		say(s.Report().Stage, s.Report().Stage)
		must0(t, m.Note(ctx, "crash test: restore window passed"))
		return
	}
	next := testpki.Old
	for _, e := range store.Entries() {
		if e.Fingerprint == fingerprint(testpki.Old) {
			next = testpki.New
		}
	}
	c := fixture(next)
	if (s.Report().Renewal+1)%4 == 3 {
		c.Certificate = crashSelfSigned(t, next)
	}
	say(s.Report().Stage, rollover.StageKeyPairCreated)
	must(s.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "k" + strconv.FormatUint(s.Report().Renewal+1, 10), Credential: c}))(t)
}

// crashCreated takes the next step of the crash child from stage s:
// cancel in renewals of kind 1, adopt a CA-signed certificate for a
// generated one, else step 2.
func crashCreated(t *testing.T, store *keystore.Store, s *rollover.KeyPairCreated, kind uint64, say func(from, to rollover.StageName)) {
	e := must(store.Entry(s.Report().New.Alias))(t)
	switch {
	case kind == 1:
		say(s.Report().Stage, rollover.StageIdle)
		must(s.Cancel(ctx, "crash test"))(t)
	case e.Certificate.Subject.CommonName == "pending":
		name := testpki.New
		if load(testpki.Old).Key.PublicKey.Equal(e.Certificate.PublicKey) {
			name = testpki.Old
		}
		say(s.Report().Stage, rollover.StageKeyPairCreated)
		must(s.AdoptCertificate(ctx, load(name).Certificate, []*x509.Certificate{load(testpki.CA).Certificate}))(t)
	default:
		say(s.Report().Stage, rollover.StageKeyAdded)
		must(s.AddToKeyStore(ctx))(t)
	}
}

// disabledEntries returns the disabled entries of store.
func disabledEntries(store *keystore.Store) []keystore.Entry {
	var out []keystore.Entry
	for _, e := range store.Entries() {
		if e.Status == keystore.StatusDisabled {
			out = append(out, e)
		}
	}
	return out
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
