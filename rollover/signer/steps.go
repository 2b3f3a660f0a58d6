package signer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

var errNilStage = fmt.Errorf("%w: stage value not returned by a Manager", rollover.ErrInvalidArgument)

// step runs fn as the step op in one key store transaction, if the store
// still holds the state b was built from, and brings the Manager's trust
// ring of the partner in step afterwards. It returns the state committed.
func (b *base) step(ctx context.Context, op string, fn stepFunc) (*partnerState, error) {
	s := &txStep{op: op, partner: b.partner, from: b.ps.pos(), fn: fn}
	if err := b.m.update(ctx, s); err != nil {
		return nil, err
	}
	b.m.syncAfter(ctx, b.partner)
	return s.committed.clone(), nil
}

// record appends an audit record of the partner's renewal ps.
func (b *base) record(txn *procedure.Txn, ps *partnerState, r rollover.Record) {
	r.Time, r.Renewal, r.Partner, r.Actor = txn.Now, ps.Renewal, b.partner, b.m.opts.Actor
	if r.NewKey == (wssec.Fingerprint{}) && ps.inRenewal() {
		r.NewKey = ps.Current.fingerprint()
	}
	if r.OldKey == (wssec.Fingerprint{}) {
		r.OldKey = ps.Old.fingerprint()
	}
	txn.Record(r)
}

// Trust trusts the partner's current signing certificate: the first
// certificate of a partner, from which its renewals start. It returns
// the [*Trusted] stage, whose certificate [Manager.TrustRing] holds from
// now on.
//
// Trust returns [rollover.ErrInvalidArgument] for a nil certificate, an
// invalid chain or overlong text; [ErrInvalidCertificate] for a
// certificate that cannot be trusted (see [Certificate]); a
// [*rollover.StageError] with [rollover.ErrStaleStage] if a certificate
// of the partner was trusted since s was returned; and the errors of
// [keystore.Store.Update]. It does not keep c's slices; the certificates
// must not be modified afterwards. It uses the Manager's clock.
func (s *Untrusted) Trust(ctx context.Context, c Certificate) (*Trusted, error) {
	b := baseOf(s)
	if !b.ok() {
		return nil, errNilStage
	}
	if err := b.m.checkCertificate(c); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "Trust", func(_ procedure.Blobs, txn *procedure.Txn, _ *partnerState) (*partnerState, error) {
		next := &partnerState{Seq: 1, Stage: StageTrusted, Current: newPartnerCert(c, txn.Now)}
		b.record(txn, next, rollover.Record{Action: ActionTrustCertificate, NewKey: next.Current.fingerprint(),
			By: c.By, Reference: c.Reference, Note: procedure.JoinNote(procedure.DescribeCert(c.Certificate), c.Note)})
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &Trusted{b.next(ps)}, nil
}

// AddCertificate is step 1 of a partner's renewal: the partner announced
// its new signing certificate, and AddCertificate trusts it from now on,
// before the partner switches. The new certificate becomes the trust
// ring's current one; the old one stays, retained with no expiry, so
// responses signed with either verify. The retention rules of the
// Manager's [rollover.Policy] are recorded with the renewal.
//
// AddCertificate returns [rollover.ErrInvalidArgument] for a nil
// certificate, an invalid chain or overlong text;
// [ErrInvalidCertificate] for a certificate that cannot be trusted (see
// [Certificate]) or that is the trusted one; a [*rollover.StageError]
// with [rollover.ErrStaleStage] (and [rollover.ErrRenewalInProgress] if
// a renewal of the partner started since s was returned); and the errors
// of [keystore.Store.Update]. It does not keep c's slices; the
// certificates must not be modified afterwards. It uses the Manager's
// clock.
func (s *Trusted) AddCertificate(ctx context.Context, c Certificate) (*CertificateAdded, error) {
	b := baseOf(s)
	if !b.ok() {
		return nil, errNilStage
	}
	if err := b.m.checkCertificate(c); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "AddCertificate", func(_ procedure.Blobs, txn *procedure.Txn, ps *partnerState) (*partnerState, error) {
		if wssec.FingerprintOf(c.Certificate) == ps.Current.fingerprint() {
			return nil, fmt.Errorf("%w: the certificate is trusted already", ErrInvalidCertificate)
		}
		next := &partnerState{
			Seq: ps.Seq + 1, Renewal: ps.Renewal + 1, Stage: StageCertificateAdded,
			Current: newPartnerCert(c, txn.Now),
			Old:     ps.Current,
			// Later steps may be taken by processes with another Policy;
			// none of them may keep the old certificate for less time.
			Retention: b.m.rules.Record(),
			Started:   txn.Now,
		}
		b.record(txn, next, rollover.Record{Action: ActionAddCertificate, By: c.By, Reference: c.Reference,
			Note: procedure.JoinNote(procedure.DescribeCert(c.Certificate)+"; "+next.rules(b.m.rules).Describe(), c.Note)})
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &CertificateAdded{b.next(ps)}, nil
}

// ConfirmPartnerSwitched is step 2 of a partner's renewal: the partner
// says it signs its responses with the new key, or with
// [Confirmation.FromEvidence] the evidence says so instead of the
// partner: a response signed with the new certificate, verified after
// step 1 and recorded by [Manager.RecordUsage] (or by this call, which
// writes the evidence not yet written first). A partner with several
// systems may not have switched all of them, which is why the old
// certificate also stays while it verifies responses.
//
// The old certificate gets its expiry, this confirmation's time plus
// [rollover.Policy.Retention] — max(GuaranteedDelivery, RetentionFloor),
// each the longer of the value recorded at step 1 and the Manager's — in
// the trust ring and the store. Responses the old certificate verifies
// after this are counted and logged as warnings by
// [Manager.RecordUsage].
//
// ConfirmPartnerSwitched returns [ErrNoEvidence] if FromEvidence is set
// and no such response is recorded, [rollover.ErrInvalidArgument] for
// overlong text, a [*rollover.StageError] with
// [rollover.ErrStaleStage], and the errors of [keystore.Store.Update].
// It uses the Manager's clock.
func (s *CertificateAdded) ConfirmPartnerSwitched(ctx context.Context, c Confirmation) (*Switched, error) {
	b := baseOf(s)
	if !b.ok() {
		return nil, errNilStage
	}
	if err := procedure.CheckTexts("by", c.By, "reference", c.Reference, "note", c.Note); err != nil {
		return nil, err
	}
	op := "ConfirmPartnerSwitched"
	if c.FromEvidence {
		op = "ConfirmFromEvidence"
	}
	ps, err := b.step(ctx, op, func(tx procedure.Blobs, txn *procedure.Txn, ps *partnerState) (*partnerState, error) {
		note := c.Note
		if c.FromEvidence {
			if ps.FirstNewSignature.IsZero() {
				return nil, fmt.Errorf("%w: partner %q", ErrNoEvidence, b.partner)
			}
			note = procedure.JoinNote("confirmed by the first response signed with the new certificate, verified at "+ps.FirstNewSignature.Format(time.RFC3339), note)
		}
		next := ps.clone()
		next.Seq++
		next.Stage = StageSwitched
		next.Confirmed, next.ConfirmedBy, next.Reference, next.FromEvidence = txn.Now, c.By, c.Reference, c.FromEvidence
		// From the later of the Manager's and the store's clock, so that
		// neither clock lagging shortens the retention.
		next.Expires = procedure.Later(txn.Now, tx.Time()).Add(next.rules(b.m.rules).Retention())
		b.record(txn, next, rollover.Record{Action: ActionConfirmPartnerSwitched, By: c.By, Reference: c.Reference, Note: note})
		b.record(txn, next, rollover.Record{Action: ActionSetOldCertificateExpiry,
			Note: "the old certificate may be removed from " + next.Expires.Format(time.RFC3339)})
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &Switched{b.next(ps)}, nil
}

// Cancel abandons the partner's renewal before its switch is confirmed:
// it removes the new certificate from the trust ring and the store, and
// the old one is the only trusted certificate again. reason goes into the
// audit trail. Responses signed with the new certificate are refused
// from then on (wssec.ErrUntrustedSigner), so Cancel is refused while
// the new certificate verified a response less than the guaranteed
// delivery time ago: the partner already signs with it.
//
// Cancel returns a [*rollover.RemovalError] with [ErrCertificateInUse]
// (which also matches [wssec.ErrRetentionNotElapsed]) in that case;
// [rollover.ErrInvalidArgument] for a reason over 1024 bytes; a
// [*rollover.StageError] with [rollover.ErrStaleStage] (and
// [rollover.ErrCannotCancel] if the switch was confirmed meanwhile); and
// the errors of [keystore.Store.Update]. It uses the Manager's clock.
func (s *CertificateAdded) Cancel(ctx context.Context, reason string) (*Trusted, error) {
	b := baseOf(s)
	if !b.ok() {
		return nil, errNilStage
	}
	if err := procedure.CheckText("reason", reason); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "Cancel", func(_ procedure.Blobs, txn *procedure.Txn, ps *partnerState) (*partnerState, error) {
		last := ps.Current.LastVerified
		if delivery := ps.rules(b.m.rules).GuaranteedDelivery; !last.IsZero() && txn.Now.Before(last.Add(delivery)) {
			return nil, &rollover.RemovalError{Partner: b.partner, Fingerprint: ps.Current.fingerprint(),
				AllowedAt: last.Add(delivery), LastUsed: last, Err: ErrCertificateInUse}
		}
		b.record(txn, ps, rollover.Record{Action: ActionCancelCertificate, Note: reason})
		next := ps.clone()
		next.Current, next.Old = ps.Old, nil
		next.endRenewal(txn.Now, "cancelled")
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &Trusted{b.next(ps)}, nil
}

// WithdrawConfirmation takes back the partner's confirmation, for a
// partner that went back to its old key or confirmed in error: the old
// certificate loses its expiry, so it cannot be removed, and the renewal
// returns to [CertificateAdded] until the partner confirms again.
//
// WithdrawConfirmation returns [rollover.ErrInvalidArgument] for a note
// over 1024 bytes, a [*rollover.StageError] with
// [rollover.ErrStaleStage], and the errors of [keystore.Store.Update].
func (s *Switched) WithdrawConfirmation(ctx context.Context, note string) (*CertificateAdded, error) {
	b := baseOf(s)
	if !b.ok() {
		return nil, errNilStage
	}
	if err := procedure.CheckText("note", note); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "WithdrawConfirmation", func(_ procedure.Blobs, txn *procedure.Txn, ps *partnerState) (*partnerState, error) {
		b.record(txn, ps, rollover.Record{Action: ActionWithdrawPartnerConfirmation, By: ps.ConfirmedBy, Reference: ps.Reference, Note: note})
		next := ps.clone()
		next.Seq++
		next.Stage = StageCertificateAdded
		next.Confirmed, next.ConfirmedBy, next.Reference, next.FromEvidence, next.Expires = time.Time{}, "", "", false, time.Time{}
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &CertificateAdded{b.next(ps)}, nil
}

// RemoveOldCertificate is step 3 of a partner's renewal: it removes the
// old certificate from the trust ring and the store, and ends the
// renewal. It is refused with a [*rollover.RemovalError], which unwraps
// to [wssec.ErrRetentionNotElapsed] and says in AllowedAt when removal
// becomes allowed:
//
//   - before the old certificate's expiry (the confirmation plus the
//     retention period);
//   - while the old certificate verified a response less than
//     GuaranteedDelivery ago, by the persisted evidence and this
//     process's trust ring ([ErrCertificateInUse]);
//   - if the partner's confirmation was withdrawn since s was returned
//     ([ErrPartnerNotSwitched]; AllowedAt is zero).
//
// The retention period and GuaranteedDelivery are each the longer of the
// value recorded at step 1 and the Manager's [rollover.Policy]. The step
// checks once more with the key store's clock ([keystore.Tx.Time]) that
// the persisted expiry and [keystore.MinRetention] after the
// confirmation have passed, with the same refusal. RemoveOldCertificate
// also returns a [*rollover.StageError] with [rollover.ErrStaleStage] and
// the errors of [keystore.Store.Update]. It uses the Manager's clock.
func (s *Switched) RemoveOldCertificate(ctx context.Context) (*Trusted, error) {
	b := baseOf(s)
	if !b.ok() || b.ps == nil {
		return nil, errNilStage
	}
	ps, err := b.step(ctx, "RemoveOldCertificate", func(tx procedure.Blobs, txn *procedure.Txn, ps *partnerState) (*partnerState, error) {
		if err := b.removable(tx, txn.Now, ps); err != nil {
			return nil, err
		}
		if ps.OldUsesPending > 0 {
			ps.OldUseAudited = time.Time{}
			auditUse(txn, b.partner, ps, "further responses signed with the old certificate after the partner's confirmation")
		}
		b.record(txn, ps, rollover.Record{Action: ActionRemoveOldCertificate,
			Note: "retention ended " + ps.oldExpiry(b.m.rules).Format(time.RFC3339)})
		next := ps.clone()
		next.Old = nil
		next.endRenewal(txn.Now, "completed")
		return next, nil
	})
	var se *rollover.StageError
	if errors.As(err, &se) && se.Renewal == b.ps.Renewal && se.Stored == StageCertificateAdded {
		// A confirmation withdrawn since s was returned is the more
		// useful answer than a stale stage.
		return nil, &rollover.RemovalError{Partner: b.partner, Fingerprint: b.ps.Old.fingerprint(), Err: ErrPartnerNotSwitched}
	}
	if err != nil {
		return nil, err
	}
	return &Trusted{b.next(ps)}, nil
}

// removable refuses the removal of the old certificate of ps at now with
// a [*rollover.RemovalError].
func (b *base) removable(tx procedure.Blobs, now time.Time, ps *partnerState) error {
	rules := ps.rules(b.m.rules)
	last := ps.Old.LastVerified
	refuse := &rollover.RemovalError{Partner: b.partner, Fingerprint: ps.Old.fingerprint(), LastUsed: last}
	if allowed := procedure.RemovableAt(ps.oldExpiry(b.m.rules), last, rules); now.Before(allowed) {
		refuse.AllowedAt = allowed
		if !last.IsZero() && now.Before(last.Add(rules.GuaranteedDelivery)) {
			refuse.Err = ErrCertificateInUse
		}
		return refuse
	}
	// The second check, as the key store makes for a decryption key: by
	// the store's clock, against the persisted expiry and the store's own
	// floor after the confirmation, whatever the Manager's Policy says.
	if floor := procedure.Later(ps.Expires, ps.Confirmed.Add(keystore.MinRetention)); ps.Expires.IsZero() || ps.Confirmed.IsZero() || tx.Time().Before(floor) {
		refuse.AllowedAt = floor
		return refuse
	}
	return nil
}
