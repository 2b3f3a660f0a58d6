package signer

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// maxObservedSigners bounds the certificates per partner that
// [Manager.Observe] keeps apart between two writes: a partner has two
// trusted certificates, and a Decryptor whose Policy has SignerRoots may
// accept others.
const maxObservedSigners = 8

// evidence is a Manager's in-memory usage state, guarded by Manager.mu:
// what its trust rings counted (Use.Ring) and Observe reported
// (Use.Obs), by partner.
type evidence struct {
	// seen is each trust ring's use counts at the last collection.
	seen map[string]procedure.RingCounter
	// pending is evidence collected but not written.
	pending procedure.Uses
	// lastWrite is when RecordUsage last wrote.
	lastWrite time.Time
}

func (e *evidence) init() {
	e.seen = map[string]procedure.RingCounter{}
	e.pending = procedure.Uses{}
}

// Observe records which of partner's certificates signed a response,
// from [wssec.Result.Signers], for an application that verifies the
// partner's responses with a trust ring of its own rather than the one
// of [Manager.TrustRing] (whose verifications the Manager counts itself;
// observing them as well counts nothing twice). The first response
// signed with the partner's new certificate is the evidence
// [Confirmation.FromEvidence] accepts; responses signed with the old one
// hold back its removal for the guaranteed delivery time. Observe only
// counts, in memory; [Manager.RecordUsage] writes the counts.
//
// Observe ignores a nil Manager or result, an invalid partner ID,
// partners beyond 256 between two writes, and certificates that are not
// the partner's. It does not keep res, uses the Manager's clock, does no
// I/O and is safe for concurrent use.
func (m *Manager) Observe(partner string, res *wssec.Result) {
	if m == nil || res == nil || checkPartner(partner) != nil {
		return
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range res.Signers {
		if c != nil && !m.ev.pending.Add(partner, wssec.FingerprintOf(c), procedure.Use{Obs: 1, First: now, Last: now}, maxObservedSigners) {
			return
		}
	}
}

// RecordUsage writes the evidence collected since its last write to the
// store, if there is any and at least [rollover.Options.UsageInterval]
// has passed since that write; it reports whether it wrote. The evidence
// is which certificate of the trust rings ([Manager.TrustRing]) verified
// responses and when, with what [Manager.Observe] reported. Written
// evidence survives restarts: [Switched.RemoveOldCertificate] refuses
// while the old certificate verified a response less than the
// guaranteed delivery time ago.
//
// RecordUsage also appends to the audit trail the first response signed
// with the new certificate after step 1, and counts responses the old
// one verified after the partner's confirmation, logging a warning each
// time (one audit record per partner and day). Call it from the
// application, after verifications or on a timer the application owns;
// the package starts no goroutines.
//
// RecordUsage returns [rollover.ErrInvalidArgument] for a nil Context,
// the errors of [keystore.Store.Update] and [rollover.ErrCorruptState];
// evidence that could not be written is kept for the next call. It uses
// the Manager's clock and is safe for concurrent use.
func (m *Manager) RecordUsage(ctx context.Context) (bool, error) {
	if m == nil {
		return false, errNilManager
	}
	if ctx == nil {
		return false, fmt.Errorf("%w: nil Context", rollover.ErrInvalidArgument)
	}
	now := m.now()
	m.mu.Lock()
	wait := !m.ev.lastWrite.IsZero() && now.Before(m.ev.lastWrite.Add(procedure.Or(m.opts.UsageInterval, procedure.DefaultUsageInterval)))
	m.mu.Unlock()
	if wait {
		return false, nil
	}
	b := m.takeBatch()
	if len(b) == 0 {
		return false, nil
	}
	if err := m.update(ctx, &txStep{op: "RecordUsage", b: b}); err != nil {
		return false, err
	}
	m.mu.Lock()
	m.ev.lastWrite = now
	m.mu.Unlock()
	return true, nil
}

// takeBatch returns the evidence not yet written: what Observe collected
// and the trust rings' counts since the last collection.
func (m *Manager) takeBatch() procedure.Uses {
	rings := m.ringsHeld()
	snaps := make(map[string][]wssec.Entry, len(rings))
	for id, r := range rings {
		snaps[id] = r.Snapshot()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.ev.pending
	m.ev.pending = procedure.Uses{}
	for id, entries := range snaps {
		seen := m.ev.seen[id]
		if seen == nil {
			seen = procedure.RingCounter{}
			m.ev.seen[id] = seen
		}
		delta := seen.Delta(entries)
		for _, e := range entries {
			if n := delta[e.Fingerprint]; n > 0 {
				last := procedure.NormTime(e.LastUsed)
				b.Add(id, e.Fingerprint, procedure.Use{Ring: n, First: last, Last: last}, maxObservedSigners)
			}
		}
	}
	return b
}

// restoreBatch keeps evidence that could not be written for the next
// write.
func (m *Manager) restoreBatch(b procedure.Uses) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ev.pending.Merge(b, maxObservedSigners)
}

// applyEvidence folds the evidence b into the partners' state sd: when
// each certificate last verified a response, the first response signed
// with a new certificate, and responses signed with an old one after the
// partner's switch. It reports a change.
func (m *Manager) applyEvidence(sd *stateDoc, b procedure.Uses, txn *procedure.Txn) bool {
	changed := false
	for _, id := range slices.Sorted(maps.Keys(b)) {
		ps := sd.partner(id)
		if ps == nil {
			continue
		}
		obs := b[id]
		for _, c := range []*partnerCert{ps.Current, ps.Old} {
			if c == nil {
				continue
			}
			if u := obs[c.fingerprint()]; u.N() > 0 && u.Last.After(c.LastVerified) {
				c.LastVerified = u.Last
				changed = true
			}
		}
		if ps.inRenewal() && applyRenewal(txn, id, ps, obs) {
			changed = true
		}
	}
	return changed
}

// applyRenewal records the first response signed with the new
// certificate and counts those signed with the old one after the
// partner's switch; it reports a change.
func applyRenewal(txn *procedure.Txn, id string, ps *partnerState, obs map[wssec.Fingerprint]procedure.Use) bool {
	newFP, oldFP := ps.Current.fingerprint(), ps.Old.fingerprint()
	changed := false
	if u := obs[newFP]; u.N() > 0 && !u.Last.Before(ps.Started) && ps.FirstNewSignature.IsZero() {
		at := u.First
		if at.Before(ps.Started) {
			at = u.Last
		}
		ps.FirstNewSignature, changed = at, true
		txn.Record(rollover.Record{Time: txn.Now, Renewal: ps.Renewal, Partner: id, NewKey: newFP, OldKey: oldFP,
			Action: ActionNewCertificateFirstUse, Count: u.N(),
			Note: "first response signed with the new certificate verified at " + at.Format(time.RFC3339)})
	}
	u := obs[oldFP]
	if ps.Stage != StageSwitched || u.N() == 0 || !u.Last.After(ps.Confirmed) {
		return changed
	}
	ps.OldUses += u.N()
	ps.OldUsesPending += u.N()
	note := fmt.Sprintf("the partner's switch was confirmed at %s, but the old certificate verified its responses until %s",
		ps.Confirmed.Format(time.RFC3339), u.Last.Format(time.RFC3339))
	if !auditUse(txn, id, ps, note) {
		txn.Warn("rollover: old certificate used after confirmation", slog.String("partner", id),
			slog.Uint64("renewal", ps.Renewal), slog.Uint64("count", u.N()), slog.String("note", note))
	}
	return true
}

// auditUse appends an audit record of the old certificate's uses counted
// but not audited, unless one was appended less than a day ago; it
// reports whether it did.
func auditUse(txn *procedure.Txn, id string, ps *partnerState, note string) bool {
	if !procedure.DueAudit(ps.OldUsesPending, ps.OldUseAudited, txn.Now) {
		return false
	}
	txn.Record(rollover.Record{Time: txn.Now, Renewal: ps.Renewal, Action: ActionOldCertificateUsedAfterConfirmation, Partner: id,
		NewKey: ps.Current.fingerprint(), OldKey: ps.Old.fingerprint(), Count: ps.OldUsesPending, Note: note})
	ps.OldUsesPending, ps.OldUseAudited = 0, txn.Now
	return true
}
