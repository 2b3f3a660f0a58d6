package signer

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

var errNilManager = fmt.Errorf("%w: nil Manager or key store", rollover.ErrInvalidArgument)

// Manager runs the partners' signing-certificate renewals on one key
// store: it resumes a partner's persisted stage ([Manager.Resume]), takes
// the steps through the stage values it returns, keeps a trust ring per
// partner ([Manager.TrustRing]), collects the evidence of which
// certificate verified a response ([Manager.Observe],
// [Manager.RecordUsage]) and appends to the audit trail
// ([rollover.History]).
//
// It uses the key store only as a store of state blobs: its steps never
// read or change the store's keys.
//
// Use one Manager per key store per process, built when the store is
// opened, and keep it: it remembers its rings' usage counts between
// calls. A Manager is safe for concurrent use; steps taken concurrently,
// from this or other processes, are serialized by the store's writer
// lock, and all but the first step from the same stage get
// [rollover.ErrStaleStage]. It starts no goroutines and holds no lock
// across I/O.
type Manager struct {
	store  *keystore.Store
	opts   rollover.Options
	rules  procedure.Rules
	now    func() time.Time
	logger *slog.Logger

	mu sync.Mutex // guards ev
	ev evidence

	// rmu guards rings, the trust rings handed out by TrustRing, and
	// serializes the changes to them. It is taken before mu, never after.
	rmu   sync.Mutex
	rings map[string]*wssec.TrustRing
}

// New returns a Manager for the partners' renewals in store, configured
// by opts as a [rollover.Manager] is: the retention rules of
// opts.Policy (GuaranteedDelivery, RetentionFloor, RenewalLead), the
// clock Now, the Logger, the Actor and the UsageInterval. It copies opts
// and validates them: it returns [rollover.ErrInvalidPolicy] for a field
// out of range, and [rollover.ErrInvalidArgument] for a nil store. It
// does no I/O.
func New(store *keystore.Store, opts rollover.Options) (*Manager, error) {
	if store == nil {
		return nil, errNilManager
	}
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if opts.UsageInterval < 0 || len(opts.Actor) > procedure.MaxTextLen {
		return nil, fmt.Errorf("%w: negative UsageInterval or Actor longer than %d bytes", rollover.ErrInvalidPolicy, procedure.MaxTextLen)
	}
	m := &Manager{
		store: store, opts: opts, now: procedure.Clock(opts.Now), logger: opts.Logger,
		rules: procedure.Resolve(opts.Policy.GuaranteedDelivery, opts.Policy.RetentionFloor),
		rings: map[string]*wssec.TrustRing{},
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	m.ev.init()
	return m, nil
}

// Resume reloads the key store ([keystore.Store.Reload]) and returns the
// stage of partner's signing-certificate renewal, as a value of its
// type: [*Untrusted], [*Trusted], [*CertificateAdded] or [*Switched]. It
// also brings the Manager's trust ring of the partner, if
// [Manager.TrustRing] returned one, in step with the store.
//
// Resume returns [rollover.ErrInvalidArgument] for a nil Context or an
// invalid partner ID, the errors of Reload, and a [*rollover.StateError]
// with [rollover.ErrCorruptState]. It is safe for concurrent use.
func (m *Manager) Resume(ctx context.Context, partner string) (Stage, error) {
	if m == nil {
		return nil, errNilManager
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil Context", rollover.ErrInvalidArgument)
	}
	if err := checkPartner(partner); err != nil {
		return nil, err
	}
	if _, err := m.store.Reload(ctx); err != nil {
		return nil, err
	}
	sd, err := loadState(m.store.ReadState)
	if err != nil {
		return nil, err
	}
	m.syncAfter(ctx, partner)
	return m.stageOf(partner, sd.partner(partner).clone()), nil
}

// Partners returns the IDs of the partners with a trusted certificate,
// sorted, from the store's state as this process last read it. It
// returns a [*rollover.StateError] with [rollover.ErrCorruptState].
func (m *Manager) Partners() ([]string, error) {
	if m == nil {
		return nil, errNilManager
	}
	sd, err := loadState(m.store.ReadState)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(sd.Partners)), nil
}

// stepFunc changes a partner's state within one transaction; ps is the
// stored state (nil when untrusted). It returns the state to store.
type stepFunc func(tx procedure.Blobs, txn *procedure.Txn, ps *partnerState) (*partnerState, error)

// txStep is one transaction of the partners' renewals in the core's step
// transaction ([procedure.Run]): the evidence not yet written, the
// retention raise, and a step of one partner's renewal (partner empty
// and fn nil when only evidence is written).
type txStep struct {
	m       *Manager
	op      string
	partner string
	from    procedure.Pos
	b       procedure.Uses
	fn      stepFunc

	sd        *stateDoc
	changed   bool
	committed *partnerState
}

func (s *txStep) Load(tx procedure.Blobs) (time.Time, error) {
	sd, err := loadState(tx.State)
	if err != nil {
		return time.Time{}, err
	}
	s.sd = sd
	var t time.Time
	for _, p := range sd.Partners {
		t = procedure.Later(t, p.latest())
	}
	return t, nil
}

func (s *txStep) Apply(tx procedure.Blobs, txn *procedure.Txn) error {
	var stored *partnerState
	if s.fn != nil {
		stored = s.sd.partner(s.partner)
		if err := procedure.Stale(s.op, s.partner, s.from, stored.pos(), time.Time{}); err != nil {
			return err
		}
	}
	s.changed = s.m.applyEvidence(s.sd, s.b, txn) || s.changed
	if s.fn != nil {
		next, err := s.fn(tx, txn, stored)
		if err != nil {
			return err
		}
		if s.sd.Partners == nil {
			s.sd.Partners = map[string]*partnerState{}
		}
		s.sd.Partners[s.partner] = next
		s.changed, s.committed = true, next
	}
	s.changed = s.m.raiseRetention(s.sd, txn) || s.changed
	return nil
}

func (s *txStep) Save(tx procedure.Blobs) error {
	if !s.changed {
		return nil
	}
	return procedure.SetBlob(tx, stateName, s.sd)
}

// update runs s in one key store transaction, with the evidence not yet
// written (s.b, or taken now), and logs the audit records once committed. The steps see the
// transaction only as [procedure.Blobs]. On an error the evidence is kept
// for the next write.
func (m *Manager) update(ctx context.Context, s *txStep) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", rollover.ErrInvalidArgument)
	}
	s.m = m
	if s.b == nil {
		s.b = m.takeBatch()
	}
	blobs := func(ctx context.Context, fn func(procedure.Blobs) error) error {
		return m.store.Update(ctx, func(tx *keystore.Tx) error { return fn(tx) })
	}
	txn, err := procedure.Run(ctx, blobs, s.op, m.now, s)
	if err != nil {
		m.restoreBatch(s.b)
		return err
	}
	procedure.Emit(ctx, m.logger, txn.Records(), ActionOldCertificateUsedAfterConfirmation)
	for _, w := range txn.Warnings() {
		procedure.Log(ctx, m.logger, m.now(), slog.LevelWarn, w.Msg, w.Attrs...)
	}
	return nil
}

// raiseRetention records the Manager's rules with every partner renewal
// in progress where they are longer than the recorded ones, and moves the
// old certificate's expiry accordingly; it reports a change.
func (m *Manager) raiseRetention(sd *stateDoc, txn *procedure.Txn) bool {
	changed := false
	for _, id := range slices.Sorted(maps.Keys(sd.Partners)) {
		ps := sd.Partners[id]
		if !ps.inRenewal() {
			continue
		}
		var switched time.Time
		if ps.Stage == StageSwitched {
			switched = ps.Confirmed
		}
		want, exp, note, ok := procedure.Raise(ps.Retention, m.rules, ps.Expires, switched)
		if !ok {
			continue
		}
		ps.Retention = want
		if !exp.IsZero() {
			ps.Expires = exp
			note += "; the old certificate may be removed from " + exp.Format(time.RFC3339)
		}
		changed = true
		txn.Record(rollover.Record{Time: txn.Now, Renewal: ps.Renewal, Action: rollover.ActionRaiseRetention, Actor: m.opts.Actor, Partner: id,
			NewKey: ps.Current.fingerprint(), OldKey: ps.Old.fingerprint(), Note: note})
	}
	return changed
}

// syncAfter brings the ring of partner in step with the store after a
// step or a resume; a failure is logged, and the ring catches up with
// the next SyncTrustRings or Resume.
func (m *Manager) syncAfter(ctx context.Context, partner string) {
	if err := m.syncPartnerRing(partner); err != nil {
		procedure.Log(ctx, m.logger, m.now(), slog.LevelError, "rollover: trust ring not in step with the store",
			slog.String("partner", partner), slog.String("error", err.Error()))
	}
}
