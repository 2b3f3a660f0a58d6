package procedure

import (
	"context"
	"time"
)

// Pos is where a renewal stands, as a stage value or the store holds it:
// the state's sequence number, the renewal's number and its stage, and
// two facts about the stage the freshness rule needs.
type Pos struct {
	Seq, Renewal uint64
	Stage        StageName
	// InRenewal reports a renewal in progress; PastReturn that it passed
	// its point of no return (the certificate was handed out, or the
	// partner confirmed its switch), so it can no longer be cancelled.
	InRenewal, PastReturn bool
}

// Stale is the freshness rule of both procedures' steps, what every
// stage value checks before a step: a step taken from a stage value
// (from) whose state the store (stored) has moved past is refused with a
// [*StageError] with [ErrStaleStage], and the reason a person acts on
// where there is one — a renewal started meanwhile
// ([ErrRenewalInProgress], allowed from expires if known), or a
// cancellation after the renewal passed the point of no return
// ([ErrCannotCancel]). partner is empty for the decryption key.
func Stale(op, partner string, from, stored Pos, expires time.Time) error {
	if from.Seq == stored.Seq {
		return nil
	}
	e := &StageError{Op: op, Partner: partner, Stage: from.Stage, Stored: stored.Stage, Renewal: stored.Renewal, Stale: true}
	switch {
	case !from.InRenewal && stored.InRenewal:
		e.Err, e.AllowedAt = ErrRenewalInProgress, expires
	case op == "Cancel" && stored.Renewal == from.Renewal && stored.PastReturn:
		e.Err = ErrCannotCancel
	}
	return e
}

// Txn is what one step's transaction collects besides the state: the
// audit records to append and the warnings to log once it commits.
type Txn struct {
	// Now is the clock's time of the step.
	Now      time.Time
	records  []Record
	warnings []Warning
}

// Warning is a log-only warning of a transaction.
type Warning struct {
	Msg   string
	Attrs []any
}

// Record appends an audit record.
func (t *Txn) Record(r Record) { t.records = append(t.records, r) }

// Warn adds a warning to log after the commit.
func (t *Txn) Warn(msg string, attrs ...any) {
	t.warnings = append(t.warnings, Warning{Msg: msg, Attrs: attrs})
}

// Records returns the audit records appended so far.
func (t *Txn) Records() []Record { return t.records }

// Warnings returns the warnings added so far.
func (t *Txn) Warnings() []Warning { return t.warnings }

// Step is one step of a procedure over the persisted state, in a
// transaction of type T (the key store's *keystore.Tx, or the narrower
// [Blobs]).
type Step[T Blobs] interface {
	// Load reads the procedure's state and returns the latest time it
	// records.
	Load(tx T) (latest time.Time, err error)
	// Apply checks that the state is still the one the stage value was
	// built from and changes it, adding audit records to txn.
	Apply(tx T, txn *Txn) error
	// Save writes the changed state.
	Save(tx T) error
}

// Run runs s in one transaction of update (such as the key store's
// Update): Load, then a refusal with a [*StageError] with
// [ErrClockBehind] if the clock now is
// behind the latest time the state or the store recorded (a confirmation
// recorded in the past would end a retention early), then Apply, Save,
// and the audit records appended to the trail. It returns the
// transaction's records and warnings once committed, for the log.
func Run[T Blobs](ctx context.Context, update func(context.Context, func(T) error) error, op string, now func() time.Time, s Step[T]) (*Txn, error) {
	var txn *Txn
	err := update(ctx, func(tx T) error {
		txn = &Txn{Now: now()}
		latest, err := s.Load(tx)
		if err != nil {
			return err
		}
		if latest = Later(latest, tx.Latest()); txn.Now.Before(latest) {
			return &StageError{Op: op, Stored: "", Now: txn.Now, Latest: latest, Err: ErrClockBehind}
		}
		if err := s.Apply(tx, txn); err != nil {
			return err
		}
		if err := s.Save(tx); err != nil {
			return err
		}
		return AppendAudit(tx, txn.records)
	})
	if err != nil {
		return nil, err
	}
	return txn, nil
}
