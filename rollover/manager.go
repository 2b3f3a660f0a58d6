package rollover

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

var errNilStore = fmt.Errorf("%w: nil key store", ErrInvalidArgument)

// Manager runs the renewal procedure on one key store: it resumes the
// persisted stage ([Manager.Resume]), takes the steps through the stage
// values it returns, collects the usage evidence of the store's key ring
// ([Manager.Observe], [Manager.RecordUsage]) and keeps the audit trail.
// The partners' signing-certificate renewals have a Manager of their own
// (package rollover/signer).
//
// Use one Manager per key store per process, built when the store is
// opened, and keep it: it remembers the ring's usage counts between
// calls. A Manager is safe for concurrent use; steps taken concurrently,
// from this or other processes, are serialized by the store's writer
// lock, and all but the first step from the same stage get
// [ErrStaleStage]. It starts no goroutines and holds no lock across I/O.
type Manager struct {
	store  *keystore.Store
	opts   Options
	logger *slog.Logger

	mu sync.Mutex // guards ev
	ev evidence
}

// NewManager returns a Manager for store. It copies opts and validates
// them: it returns [ErrInvalidPolicy] for a Policy or Options field out of
// range, and [ErrInvalidArgument] for a nil store. It does no I/O.
func NewManager(store *keystore.Store, opts Options) (*Manager, error) {
	if store == nil {
		return nil, errNilStore
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	m := &Manager{store: store, opts: opts, logger: opts.logger()}
	m.ev.init()
	return m, nil
}

// Resume reloads the key store of m ([keystore.Store.Reload]) and returns
// the stage the renewal has reached, as a value of its type: [*Idle],
// [*KeyPairCreated], [*KeyAdded], [*CertificateProvided] or
// [*ReceiversSwitched]. A process started months after the last step
// continues from there. If the current certificate expires within the
// policy's renewal lead, Resume logs a warning.
//
// Resume returns the errors of Reload; a [*StateError] with
// [ErrCorruptState] if the state cannot be parsed, or with
// [ErrInconsistent] if the store's keys contradict it (they were changed
// outside the procedure); [ErrInvalidArgument] for a nil Manager or
// Context. It uses the Manager's clock and is safe for concurrent use.
//
// A process keeps one Manager per store (see [Manager]) and resumes with
// it, so that the usage evidence of its key ring is counted once.
func (m *Manager) Resume(ctx context.Context) (Stage, error) {
	return m.resume(ctx)
}

func (m *Manager) resume(ctx context.Context) (Stage, error) {
	if m == nil {
		return nil, errNilStore
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	if _, err := m.store.Reload(ctx); err != nil {
		return nil, err
	}
	st, err := loadState(m.store.ReadState)
	if err != nil {
		return nil, err
	}
	if err := checkEntries(st, m.store.Entries()); err != nil {
		return nil, err
	}
	s := m.stageOf(st)
	if r := s.Report(); r.RenewalDue {
		m.warnDue(ctx, r)
	}
	return s, nil
}

// Begin returns the [*Idle] stage from which a renewal starts. If a
// renewal is in progress it returns a [*StageError] with
// [ErrRenewalInProgress] whose AllowedAt is when that renewal's old key
// may be removed, if known. Begin returns the errors of [Manager.Resume].
func (m *Manager) Begin(ctx context.Context) (*Idle, error) {
	s, err := m.resume(ctx)
	if err != nil {
		return nil, err
	}
	if idle, ok := s.(*Idle); ok {
		return idle, nil
	}
	st := stateOf(s)
	return nil, &StageError{Op: "Begin", Stored: st.Stage, Renewal: st.Renewal, AllowedAt: st.Expires, Err: ErrRenewalInProgress}
}

// stageOf returns the stage value for st.
func (m *Manager) stageOf(st *stateDoc) Stage {
	b := base{m: m, st: st}
	switch st.Stage {
	case StageKeyPairCreated:
		return &KeyPairCreated{b}
	case StageKeyAdded:
		return &KeyAdded{b}
	case StageCertificateProvided:
		return &CertificateProvided{b}
	case StageReceiversSwitched:
		return &ReceiversSwitched{b}
	}
	return &Idle{b}
}

// stepFunc changes the store and the docs within one transaction, at the
// clock's time now.
type stepFunc func(tx *keystore.Tx, d *docs, now time.Time) error

// update runs fn in one key store transaction, together with the usage
// evidence collected since the last write; see commit.
func (m *Manager) update(ctx context.Context, op string, from *stateDoc, fn stepFunc) (*stateDoc, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	return m.commit(ctx, op, from, m.takeBatch(), fn)
}

// commit runs fn in one key store transaction, together with the
// evidence b, and logs the audit records once they are committed. If
// from is not nil, the store must still hold that state and keys that
// match it; otherwise fn is not run and a [*StageError] or [*StateError]
// is returned. On an error b is kept for the next write. commit returns
// the state committed.
func (m *Manager) commit(ctx context.Context, op string, from *stateDoc, b batch, fn stepFunc) (*stateDoc, error) {
	s := &keyStep{m: m, op: op, from: from, b: b, fn: fn}
	txn, err := procedure.Run(ctx, m.store.Update, op, m.opts.now, s)
	if err != nil {
		m.restoreBatch(b)
		return nil, err
	}
	m.emit(ctx, txn)
	return s.d.state, nil
}

// keyStep is one step of the decryption-key renewal in the core's
// transaction ([procedure.Run]).
type keyStep struct {
	m    *Manager
	op   string
	from *stateDoc
	b    batch
	fn   stepFunc
	d    *docs
}

func (s *keyStep) Load(tx *keystore.Tx) (time.Time, error) {
	d, err := loadDocs(tx.State)
	if err != nil {
		return time.Time{}, err
	}
	s.d = d
	return latestRecorded(d), nil
}

func (s *keyStep) Apply(tx *keystore.Tx, txn *procedure.Txn) error {
	d, now, entries := s.d, txn.Now, tx.Entries()
	if s.from != nil {
		if err := checkFresh(s.op, s.from, d.state); err != nil {
			return err
		}
		if err := checkEntries(d.state, entries); err != nil {
			return err
		}
	}
	if d.state.Stage != StageIdle && checkEntries(d.state, entries) == nil {
		if err := s.m.raiseRetention(tx, d, now); err != nil {
			return err
		}
	}
	s.m.applyEvidence(d, s.b, entries, now)
	if err := recordDestroyed(tx, d); err != nil {
		return err
	}
	if s.fn != nil {
		if err := s.fn(tx, d, now); err != nil {
			return err
		}
	}
	for _, r := range d.added {
		txn.Record(r)
	}
	for _, w := range d.warnings {
		txn.Warn(w.Msg, w.Attrs...)
	}
	return nil
}

func (s *keyStep) Save(tx *keystore.Tx) error { return s.d.save(tx) }

// checkFresh refuses a step on a stage value the store has moved past.
func checkFresh(op string, from, stored *stateDoc) error {
	return procedure.Stale(op, "", posOf(from), posOf(stored), stored.Expires)
}

// checkEntries reports a key store whose entries contradict st.
func checkEntries(st *stateDoc, entries []keystore.Entry) error {
	if st.Stage == StageIdle {
		return nil
	}
	find := func(k *keyRef) (keystore.Entry, bool) {
		for _, e := range entries {
			if e.Alias == k.Alias {
				return e, procedure.Hex(e.Fingerprint) == k.SHA256
			}
		}
		return keystore.Entry{}, false
	}
	fail := func(format string, args ...any) error {
		return &StateError{Name: stateName, Reason: fmt.Sprintf(format, args...), Err: ErrInconsistent}
	}
	newE, ok := find(st.New)
	if !ok {
		return fail("stage %s: the new key %q is missing or has another certificate", st.Stage, st.New.Alias)
	}
	oldE, ok := find(st.Old)
	if !ok {
		return fail("stage %s: the old key %q is missing or has another certificate", st.Stage, st.Old.Alias)
	}
	wantNew, wantOld := keystore.StatusCurrent, keystore.StatusRetained
	if st.Stage == StageKeyPairCreated {
		wantNew, wantOld = keystore.StatusPending, keystore.StatusCurrent
	}
	if newE.Status != wantNew || oldE.Status != wantOld {
		return fail("stage %s: the new key %q is %s and the old key %q is %s", st.Stage, newE.Alias, newE.Status, oldE.Alias, oldE.Status)
	}
	return nil
}

// ringSnapshot returns the store's key ring entries, or nil while the
// store has no current key.
func (m *Manager) ringSnapshot() []wssec.Entry {
	ring, err := m.store.KeyRing()
	if err != nil {
		return nil
	}
	return ring.Snapshot()
}

// warnDue logs that a renewal is due, at most once a day per Manager.
func (m *Manager) warnDue(ctx context.Context, r Report) {
	now := m.opts.now()
	m.mu.Lock()
	if !m.ev.dueWarned.IsZero() && now.Sub(m.ev.dueWarned) < 24*time.Hour {
		m.mu.Unlock()
		return
	}
	m.ev.dueWarned = now
	m.mu.Unlock()
	m.log(ctx, now, slog.LevelWarn, "rollover: renewal due",
		slog.String("stage", string(r.Stage)),
		slog.String("current_key", r.Current.Alias),
		slog.String("fingerprint", r.Current.Fingerprint.String()),
		slog.Time("not_after", r.Current.NotAfter),
		slog.Int("days_left", r.DaysLeft),
		slog.Time("due_at", r.RenewalDueAt),
		slog.String("health", r.Health.String()),
		slog.Int("next_step", r.Next.Step),
		slog.String("next", r.Next.Name))
}
