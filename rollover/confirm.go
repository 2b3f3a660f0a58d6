package rollover

import (
	"context"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// Confirmation is a receiver's word that it now encrypts with the new
// key (steps 4 to 6 happen on the receiver's side; step 6 tells the
// tenant).
type Confirmation struct {
	// Receiver is the [Receiver.ID] the certificate was provided to.
	Receiver string
	// By names who confirmed on the receiver's side.
	By string
	// Reference is free text that finds the confirmation again, such as
	// a ticket or a mail's message ID.
	Reference string
	// Note is free text for the audit trail.
	Note string
}

func (c Confirmation) check() error {
	if err := checkID(c.Receiver); err != nil {
		return err
	}
	for _, t := range []struct{ what, s string }{{"by", c.By}, {"reference", c.Reference}, {"note", c.Note}} {
		if err := procedure.CheckText(t.what, t.s); err != nil {
			return err
		}
	}
	return nil
}

// ConfirmReceiverSwitched records that a receiver encrypts with the new
// key, at the clock's time. While receivers remain that have not
// confirmed, it returns a [*CertificateProvided]. After the last one it
// gives the old key its expiry in the store — this confirmation's time
// plus [Policy.Retention], max(GuaranteedDelivery, RetentionFloor), each
// the longer of the value recorded at step 1 and the Manager's — and
// returns a [*ReceiversSwitched]. No expiry is set before every receiver
// has confirmed, so a receiver's old key is never removed under it.
//
// If responses attributed to the receiver ([Manager.Observe]) are
// decrypted with the old key after this, [Manager.RecordUsage] counts
// them and logs a warning; without attribution it does so for responses
// after the last confirmation.
//
// The retention runs from the later of the Manager's clock and the key
// store's ([keystore.Tx.Time]). A clock behind the latest time the
// renewal or the store recorded gets a [*StageError] ([ErrClockBehind])
// and changes nothing; every step refuses such a clock the same way.
//
// ConfirmReceiverSwitched returns [ErrUnknownReceiver] for a receiver the
// certificate was not provided to, [ErrAlreadyConfirmed],
// [ErrInvalidArgument] for an invalid confirmation, a [*StageError] with
// [ErrStaleStage], a [*StateError] with [ErrInconsistent], and the errors
// of [keystore.Store.Update].
func (s *CertificateProvided) ConfirmReceiverSwitched(ctx context.Context, c Confirmation) (Stage, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	st, err := s.m.update(ctx, "ConfirmReceiverSwitched", s.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		st := d.state
		r := st.receiver(c.Receiver)
		switch {
		case r == nil:
			return fmt.Errorf("%w: %q", ErrUnknownReceiver, c.Receiver)
		case !r.Confirmed.IsZero():
			return fmt.Errorf("%w: %q at %s", ErrAlreadyConfirmed, c.Receiver, r.Confirmed.Format(time.RFC3339))
		}
		d.changeState()
		st.Seq++
		r.Confirmed, r.By, r.Reference = now, c.By, c.Reference
		d.record(Record{Time: now, Action: ActionConfirmReceiverSwitched, Actor: s.m.opts.Actor,
			Receiver: c.Receiver, By: c.By, Reference: c.Reference, Note: c.Note})
		if len(st.pending()) > 0 {
			return nil
		}
		st.Stage = StageReceiversSwitched
		st.Switched = now
		// The retention runs from the later of the Manager's and the
		// store's clock, so that neither clock lagging shortens it.
		st.Expires = procedure.Later(now, tx.Time()).Add(st.policy(s.m.opts.Policy).Retention())
		if err := tx.Retain(st.Old.Alias, st.Expires); err != nil {
			return err
		}
		d.record(Record{Time: now, Action: ActionSetOldKeyExpiry, Actor: s.m.opts.Actor,
			Note: fmt.Sprintf("every receiver confirmed; %s may be removed from %s", st.Old.Alias, st.Expires.Format(time.RFC3339))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.m.stageOf(st), nil
}

// WithdrawConfirmation takes back a receiver's confirmation, for a
// receiver that went back to the old certificate or confirmed in error.
// The renewal waits for the receiver's confirmation again; see
// [ReceiversSwitched.WithdrawConfirmation] for the errors.
func (s *CertificateProvided) WithdrawConfirmation(ctx context.Context, receiver, note string) (*CertificateProvided, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return withdraw(ctx, s.base, receiver, note)
}

// WithdrawConfirmation takes back a receiver's confirmation, for a
// receiver that went back to the old certificate or confirmed in error:
// the old key loses its expiry, so it cannot be removed, and the renewal
// returns to [CertificateProvided] until the receiver confirms again.
//
// WithdrawConfirmation returns [ErrUnknownReceiver] for a receiver
// without a confirmation, [ErrInvalidArgument] for overlong text, a
// [*StageError] with [ErrStaleStage], a [*StateError] with
// [ErrInconsistent], and the errors of [keystore.Store.Update].
func (s *ReceiversSwitched) WithdrawConfirmation(ctx context.Context, receiver, note string) (*CertificateProvided, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	return withdraw(ctx, s.base, receiver, note)
}

func withdraw(ctx context.Context, b base, receiver, note string) (*CertificateProvided, error) {
	if err := checkID(receiver); err != nil {
		return nil, err
	}
	if err := procedure.CheckText("note", note); err != nil {
		return nil, err
	}
	st, err := b.m.update(ctx, "WithdrawConfirmation", b.st, func(tx *keystore.Tx, d *docs, now time.Time) error {
		st := d.state
		r := st.receiver(receiver)
		if r == nil || r.Confirmed.IsZero() {
			return fmt.Errorf("%w: no confirmation of %q", ErrUnknownReceiver, receiver)
		}
		d.changeState()
		st.Seq++
		d.record(Record{Time: now, Action: ActionWithdrawConfirmation, Actor: b.m.opts.Actor,
			Receiver: receiver, By: r.By, Reference: r.Reference, Note: note})
		r.Confirmed, r.By, r.Reference = time.Time{}, "", ""
		if st.Stage == StageReceiversSwitched {
			if err := tx.Retain(st.Old.Alias, time.Time{}); err != nil {
				return err
			}
			st.Stage, st.Switched, st.Expires = StageCertificateProvided, time.Time{}, time.Time{}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CertificateProvided{base{b.m, st}}, nil
}
