package rollover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// ResumeSigner reloads the key store ([keystore.Store.Reload]) and returns
// the stage of partner's signing-certificate renewal, as a value of its
// type: [*SignerUntrusted], [*SignerTrusted], [*SignerCertificateAdded] or
// [*SignerSwitched]. It also brings the Manager's trust ring of the
// partner, if [Manager.TrustRing] returned one, in step with the store.
//
// ResumeSigner returns [ErrInvalidArgument] for an invalid partner ID, the
// errors of Reload, and a [*StateError] with [ErrCorruptState]. It is
// safe for concurrent use.
func (m *Manager) ResumeSigner(ctx context.Context, partner string) (SignerStage, error) {
	if m == nil {
		return nil, errNilStore
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	if err := checkPartner(partner); err != nil {
		return nil, err
	}
	if _, err := m.store.Reload(ctx); err != nil {
		return nil, err
	}
	sd, err := loadSigners(m.store.View().State)
	if err != nil {
		return nil, err
	}
	if err := m.syncPartnerRing(partner); err != nil {
		m.log(ctx, m.opts.now(), slog.LevelError, "rollover: trust ring not in step with the store",
			slog.String("partner", partner), slog.String("error", err.Error()))
	}
	return m.signerStageOf(partner, sd.partner(partner).clone()), nil
}

// signerStepFunc changes a partner's state within one transaction; ps is
// the stored state (nil when untrusted). It returns the state to store.
type signerStepFunc func(tx blobStore, d *docs, ps *partnerState, now time.Time) (*partnerState, error)

// blobStore is all a partner's renewal uses of a key store transaction:
// the state blobs, read here and written by the transaction with the
// docs, and the store's clock. Its steps never read or change the
// store's keys, so they get no more than this.
type blobStore interface {
	State(name string) ([]byte, error)
	Time() time.Time
}

// step runs fn in one key store transaction, if the store still holds the
// state b was built from, and brings the Manager's trust ring of the
// partner in step afterwards. It returns the state committed.
func (b *signerBase) step(ctx context.Context, op string, fn signerStepFunc) (*partnerState, error) {
	var committed *partnerState
	_, err := b.m.update(ctx, op, nil, func(tx *keystore.Tx, d *docs, now time.Time) error {
		sd, err := d.signers(tx.State)
		if err != nil {
			return err
		}
		stored := sd.partner(b.partner)
		if err := b.checkFresh(op, stored); err != nil {
			return err
		}
		next, err := fn(tx, d, stored, now)
		if err != nil {
			return err
		}
		if sd.Partners == nil {
			sd.Partners = map[string]*partnerState{}
		}
		sd.Partners[b.partner] = next
		d.signersChanged = true
		committed = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.m.syncPartnerRing(b.partner); err != nil {
		// The step is committed; the ring catches up with the next
		// SyncTrustRings or ResumeSigner.
		b.m.log(ctx, b.m.opts.now(), slog.LevelError, "rollover: trust ring not in step with the store",
			slog.String("partner", b.partner), slog.String("error", err.Error()))
	}
	return committed.clone(), nil
}

// checkFresh refuses a step on a stage value the store has moved past.
func (b *signerBase) checkFresh(op string, stored *partnerState) error {
	now := stagePos{seq: 0, renewal: 0, stage: SignerStageUntrusted}
	if stored != nil {
		now = stagePos{stored.Seq, stored.Renewal, stored.Stage}
	}
	return staleStage(op, b.partner, stagePos{b.seq(), b.renewal(), b.stage()}, now, time.Time{})
}

// record appends an audit record of the partner's renewal ps.
func (b *signerBase) record(d *docs, ps *partnerState, r Record) {
	r.Renewal, r.Partner, r.Actor = ps.Renewal, b.partner, b.m.opts.Actor
	if r.NewKey == (wssec.Fingerprint{}) && ps.inRenewal() {
		r.NewKey = ps.Current.fingerprint()
	}
	if r.OldKey == (wssec.Fingerprint{}) {
		r.OldKey = ps.Old.fingerprint()
	}
	d.recordSigner(r)
}

// Trust trusts the partner's current signing certificate: the first
// certificate of a partner, from which its renewals start. It returns
// the [*SignerTrusted] stage, whose certificate [Manager.TrustRing]
// holds from now on.
//
// Trust returns [ErrInvalidArgument] for a nil certificate, an invalid
// chain or overlong text; [ErrInvalidCertificate] for a certificate that
// cannot be trusted (see [PartnerCertificate]); a [*StageError] with
// [ErrStaleStage] if a certificate of the partner was trusted since s was
// returned; and the errors of [keystore.Store.Update]. It does not keep
// c's slices; the certificates must not be modified afterwards. It uses
// the Manager's clock.
func (s *SignerUntrusted) Trust(ctx context.Context, c PartnerCertificate) (*SignerTrusted, error) {
	b := s.signer()
	if !b.ok() {
		return nil, errNilStage
	}
	if err := b.m.checkCertificate(c, b.m.opts.now()); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "Trust", func(_ blobStore, d *docs, _ *partnerState, now time.Time) (*partnerState, error) {
		next := &partnerState{Seq: 1, Stage: SignerStageTrusted, Current: newPartnerCert(c.Certificate, c.Chain, c.By, c.Reference, now)}
		b.record(d, next, Record{Time: now, Action: ActionTrustCertificate, NewKey: next.Current.fingerprint(),
			By: c.By, Reference: c.Reference, Note: joinNote(describeCert(c.Certificate), c.Note)})
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &SignerTrusted{signerBase{b.m, b.partner, ps}}, nil
}

// AddCertificate is step 1 of a partner's renewal: the partner announced
// its new signing certificate, and AddCertificate trusts it from now on,
// before the partner switches. The new certificate becomes the trust
// ring's current one; the old one stays, retained with no expiry, so
// responses signed with either verify. The retention rules of the
// Manager's [Policy] are recorded with the renewal.
//
// AddCertificate returns [ErrInvalidArgument] for a nil certificate, an
// invalid chain or overlong text; [ErrInvalidCertificate] for a
// certificate that cannot be trusted (see [PartnerCertificate]) or that
// is the trusted one; a [*StageError] with [ErrStaleStage] (and
// [ErrRenewalInProgress] if a renewal of the partner started since s was
// returned); and the errors of [keystore.Store.Update]. It does not keep
// c's slices; the certificates must not be modified afterwards. It uses
// the Manager's clock.
func (s *SignerTrusted) AddCertificate(ctx context.Context, c PartnerCertificate) (*SignerCertificateAdded, error) {
	b := s.signer()
	if !b.ok() {
		return nil, errNilStage
	}
	if err := b.m.checkCertificate(c, b.m.opts.now()); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "AddCertificate", func(_ blobStore, d *docs, ps *partnerState, now time.Time) (*partnerState, error) {
		if wssec.FingerprintOf(c.Certificate) == ps.Current.fingerprint() {
			return nil, fmt.Errorf("%w: the certificate is trusted already", ErrInvalidCertificate)
		}
		next := &partnerState{
			Seq: ps.Seq + 1, Renewal: ps.Renewal + 1, Stage: SignerStageCertificateAdded,
			Current: newPartnerCert(c.Certificate, c.Chain, c.By, c.Reference, now),
			Old:     ps.Current,
			// Later steps may be taken by processes with another Policy;
			// none of them may keep the old certificate for less time.
			Retention: recordOf(b.m.opts.Policy),
			Started:   now,
		}
		b.record(d, next, Record{Time: now, Action: ActionAddCertificate, By: c.By, Reference: c.Reference,
			Note: joinNote(describeCert(c.Certificate)+"; "+describeRetention(next.policy(b.m.opts.Policy)), c.Note)})
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &SignerCertificateAdded{signerBase{b.m, b.partner, ps}}, nil
}

// ConfirmPartnerSwitched is step 2 of a partner's renewal: the partner
// says it signs its responses with the new key, or with
// [PartnerConfirmation.FromEvidence] the evidence says so instead of the
// partner: a response signed with the new certificate, verified after
// step 1 and recorded by [Manager.RecordUsage] (or by this call, which
// writes the evidence not yet written first). A partner with several
// systems may not have switched all of them, which is why the old
// certificate also stays while it verifies responses.
//
// The old certificate gets its expiry, this confirmation's time plus
// [Policy.Retention] — max(GuaranteedDelivery, RetentionFloor), each the
// longer of the value recorded at step 1 and the Manager's — in the trust
// ring and the store. Responses the old certificate verifies after this
// are counted and logged as warnings by [Manager.RecordUsage].
//
// ConfirmPartnerSwitched returns [ErrNoEvidence] if FromEvidence is set
// and no such response is recorded, [ErrInvalidArgument] for overlong
// text, a [*StageError] with [ErrStaleStage], and the errors of
// [keystore.Store.Update]. It uses the Manager's clock.
func (s *SignerCertificateAdded) ConfirmPartnerSwitched(ctx context.Context, c PartnerConfirmation) (*SignerSwitched, error) {
	b := s.signer()
	if !b.ok() {
		return nil, errNilStage
	}
	for _, t := range []struct{ what, s string }{{"by", c.By}, {"reference", c.Reference}, {"note", c.Note}} {
		if err := checkText(t.what, t.s); err != nil {
			return nil, err
		}
	}
	op := "ConfirmPartnerSwitched"
	if c.FromEvidence {
		op = "ConfirmFromEvidence"
	}
	return b.confirm(ctx, op, c)
}

func (b *signerBase) confirm(ctx context.Context, op string, c PartnerConfirmation) (*SignerSwitched, error) {
	fromEvidence := c.FromEvidence
	ps, err := b.step(ctx, op, func(tx blobStore, d *docs, ps *partnerState, now time.Time) (*partnerState, error) {
		note := c.Note
		if fromEvidence {
			if ps.FirstNewSignature.IsZero() {
				return nil, fmt.Errorf("%w: partner %q", ErrNoEvidence, b.partner)
			}
			note = joinNote("confirmed by the first response signed with the new certificate, verified at "+ps.FirstNewSignature.Format(time.RFC3339), note)
		}
		next := ps.clone()
		next.Seq++
		next.Stage = SignerStageSwitched
		next.Confirmed, next.ConfirmedBy, next.Reference, next.FromEvidence = now, c.By, c.Reference, fromEvidence
		// From the later of the Manager's and the store's clock, so that
		// neither clock lagging shortens the retention.
		next.Expires = later(now, tx.Time()).Add(next.policy(b.m.opts.Policy).Retention())
		b.record(d, next, Record{Time: now, Action: ActionConfirmPartnerSwitched, By: c.By, Reference: c.Reference, Note: note})
		b.record(d, next, Record{Time: now, Action: ActionSetOldCertificateExpiry,
			Note: "the old certificate may be removed from " + next.Expires.Format(time.RFC3339)})
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &SignerSwitched{signerBase{b.m, b.partner, ps}}, nil
}

// Cancel abandons the partner's renewal before its switch is confirmed:
// it removes the new certificate from the trust ring and the store, and
// the old one is the only trusted certificate again. reason goes into the
// audit trail. Responses signed with the new certificate are refused
// from then on (wssec.ErrUntrustedSigner), so Cancel is refused while
// the new certificate verified a response less than the guaranteed
// delivery time ago: the partner already signs with it.
//
// Cancel returns a [*RemovalError] with [ErrCertificateInUse]
// (which also matches [wssec.ErrRetentionNotElapsed]) in that case;
// [ErrInvalidArgument] for a reason over 1024 bytes; a
// [*StageError] with [ErrStaleStage] (and [ErrCannotCancel] if the
// switch was confirmed meanwhile); and the errors of
// [keystore.Store.Update]. It uses the Manager's clock.
func (s *SignerCertificateAdded) Cancel(ctx context.Context, reason string) (*SignerTrusted, error) {
	b := s.signer()
	if !b.ok() {
		return nil, errNilStage
	}
	if err := checkText("reason", reason); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "Cancel", func(_ blobStore, d *docs, ps *partnerState, now time.Time) (*partnerState, error) {
		last := ps.Current.LastVerified
		if delivery := ps.policy(b.m.opts.Policy).guaranteedDelivery(); !last.IsZero() && now.Before(last.Add(delivery)) {
			return nil, &RemovalError{Partner: b.partner, Fingerprint: ps.Current.fingerprint(),
				AllowedAt: last.Add(delivery), LastUsed: last, Err: ErrCertificateInUse}
		}
		b.record(d, ps, Record{Time: now, Action: ActionCancelCertificate, Note: reason})
		next := ps.clone()
		next.Current, next.Old = ps.Old, nil
		next.endRenewal(now, "cancelled")
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &SignerTrusted{signerBase{b.m, b.partner, ps}}, nil
}

// WithdrawConfirmation takes back the partner's confirmation, for a
// partner that went back to its old key or confirmed in error: the old
// certificate loses its expiry, so it cannot be removed, and the renewal
// returns to [SignerCertificateAdded] until the partner confirms again.
//
// WithdrawConfirmation returns [ErrInvalidArgument] for a note over 1024
// bytes, a [*StageError] with [ErrStaleStage], and the errors of
// [keystore.Store.Update].
func (s *SignerSwitched) WithdrawConfirmation(ctx context.Context, note string) (*SignerCertificateAdded, error) {
	b := s.signer()
	if !b.ok() {
		return nil, errNilStage
	}
	if err := checkText("note", note); err != nil {
		return nil, err
	}
	ps, err := b.step(ctx, "WithdrawConfirmation", func(_ blobStore, d *docs, ps *partnerState, now time.Time) (*partnerState, error) {
		b.record(d, ps, Record{Time: now, Action: ActionWithdrawPartnerConfirmation, By: ps.ConfirmedBy, Reference: ps.Reference, Note: note})
		next := ps.clone()
		next.Seq++
		next.Stage = SignerStageCertificateAdded
		next.Confirmed, next.ConfirmedBy, next.Reference, next.FromEvidence, next.Expires = time.Time{}, "", "", false, time.Time{}
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &SignerCertificateAdded{signerBase{b.m, b.partner, ps}}, nil
}

// RemoveOldCertificate is step 3 of a partner's renewal: it removes the
// old certificate from the trust ring and the store, and ends the
// renewal. It is refused with a [*RemovalError], which unwraps
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
// value recorded at step 1 and the Manager's [Policy]. The step checks
// once more with the key store's clock ([keystore.Tx.Time]) that the
// persisted expiry and [keystore.MinRetention] after the confirmation
// have passed, with the same refusal. RemoveOldCertificate also returns a [*StageError] with [ErrStaleStage] and the errors
// of [keystore.Store.Update]. It uses the Manager's clock.
func (s *SignerSwitched) RemoveOldCertificate(ctx context.Context) (*SignerTrusted, error) {
	b := s.signer()
	if !b.ok() || b.ps == nil {
		return nil, errNilStage
	}
	ps, err := b.step(ctx, "RemoveOldCertificate", func(tx blobStore, d *docs, ps *partnerState, now time.Time) (*partnerState, error) {
		p := ps.policy(b.m.opts.Policy)
		last := ps.Old.LastVerified
		refuse := &RemovalError{Partner: b.partner, Fingerprint: ps.Old.fingerprint(), LastUsed: last}
		allowed := removableAt(ps.oldExpiry(b.m.opts.Policy), last, p)
		if now.Before(allowed) {
			refuse.AllowedAt = allowed
			if !last.IsZero() && now.Before(last.Add(p.guaranteedDelivery())) {
				refuse.Err = ErrCertificateInUse
			}
			return nil, refuse
		}
		// The second check, as the key store makes for a decryption key:
		// by the store's clock, against the persisted expiry and the
		// store's own floor after the confirmation, whatever the
		// Manager's Policy says.
		if floor := later(ps.Expires, ps.Confirmed.Add(keystore.MinRetention)); ps.Expires.IsZero() || ps.Confirmed.IsZero() || tx.Time().Before(floor) {
			refuse.AllowedAt = floor
			return nil, refuse
		}
		if ps.OldUsesPending > 0 {
			ps.OldUseAudited = time.Time{}
			auditSignerUse(d, b.partner, ps, "further responses signed with the old certificate after the partner's confirmation", now)
		}
		b.record(d, ps, Record{Time: now, Action: ActionRemoveOldCertificate,
			Note: "retention ended " + ps.oldExpiry(b.m.opts.Policy).Format(time.RFC3339)})
		next := ps.clone()
		next.Old = nil
		next.endRenewal(now, "completed")
		return next, nil
	})
	if err != nil {
		var se *StageError
		if errors.As(err, &se) && se.Renewal == b.ps.Renewal && se.Stored == SignerStageCertificateAdded {
			// A confirmation withdrawn since s was returned is the more
			// useful answer than a stale stage.
			return nil, &RemovalError{Partner: b.partner, Fingerprint: b.ps.Old.fingerprint(), Err: ErrPartnerNotSwitched}
		}
		return nil, err
	}
	return &SignerTrusted{signerBase{b.m, b.partner, ps}}, nil
}
