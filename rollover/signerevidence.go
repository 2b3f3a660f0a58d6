package rollover

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// maxObservedSigners bounds the certificates per partner that
// [Manager.ObserveSigners] keeps apart between two writes: a partner has
// two trusted certificates, and a Decryptor whose Policy has SignerRoots
// may accept others.
const maxObservedSigners = 8

// signUse is what was seen of one certificate of a partner: counted by a
// trust ring the Manager handed out (ring) and reported through
// ObserveSigners (obs). An application may do both for the same
// responses, so the evidence counts the larger of the two.
type signUse struct {
	ring, obs   uint64
	first, last time.Time
}

func (u signUse) n() uint64 { return max(u.ring, u.obs) }

func (b batch) addSigner(partner string, fp wssec.Fingerprint, u signUse) bool {
	obs := b.sig[partner]
	if obs == nil {
		if len(b.sig) >= maxObservedReceivers {
			return false
		}
		obs = map[wssec.Fingerprint]signUse{}
		b.sig[partner] = obs
	}
	x, ok := obs[fp]
	if !ok && len(obs) >= maxObservedSigners {
		return false
	}
	x.ring += u.ring
	x.obs += u.obs
	if x.first.IsZero() || !u.first.IsZero() && u.first.Before(x.first) {
		x.first = u.first
	}
	if u.last.After(x.last) {
		x.last = u.last
	}
	obs[fp] = x
	return true
}

// ObserveSigners records which of partner's certificates signed a
// response, from [wssec.Result.Signers], for an application that verifies
// the partner's responses with a trust ring of its own rather than the
// one of [Manager.TrustRing] (whose verifications the Manager counts
// itself; observing them as well counts nothing twice). The first
// response signed with the partner's new certificate is the evidence
// [PartnerConfirmation.FromEvidence] accepts; responses signed
// with the old one hold back its removal for the guaranteed delivery
// time. Observe only counts, in memory; [Manager.RecordUsage] writes the
// counts.
//
// ObserveSigners ignores a nil result, an invalid partner ID, partners
// beyond 256 between two writes, and certificates that are not the
// partner's. It does not keep res, uses the Manager's clock, does no I/O
// and is safe for concurrent use.
func (m *Manager) ObserveSigners(partner string, res *wssec.Result) {
	if m == nil || res == nil || checkPartner(partner) != nil {
		return
	}
	m.observe(res.Signers, func(fp wssec.Fingerprint, now time.Time) bool {
		return m.ev.pending.addSigner(partner, fp, signUse{obs: 1, first: now, last: now})
	})
}

// trustSnapshots returns the entries of the trust rings the Manager
// handed out, by partner.
func (m *Manager) trustSnapshots() map[string][]wssec.Entry {
	rings := m.trustRingsHeld()
	out := make(map[string][]wssec.Entry, len(rings))
	for id, r := range rings {
		out[id] = r.Snapshot()
	}
	return out
}

// collectTrustUses adds to b the verifications the trust rings counted
// since the last collection. m.mu is held.
func (m *Manager) collectTrustUses(b batch, trust map[string][]wssec.Entry) {
	for id, entries := range trust {
		seen := m.ev.seenSig[id]
		if seen == nil {
			seen = map[wssec.Fingerprint]uint64{}
			m.ev.seenSig[id] = seen
		}
		inRing := map[wssec.Fingerprint]bool{}
		for _, e := range entries {
			inRing[e.Fingerprint] = true
			n := e.Uses
			if s := seen[e.Fingerprint]; e.Uses >= s {
				n = e.Uses - s
			}
			seen[e.Fingerprint] = e.Uses
			if n > 0 {
				last := normTime(e.LastUsed)
				b.addSigner(id, e.Fingerprint, signUse{ring: n, first: last, last: last})
			}
		}
		for fp := range seen {
			if !inRing[fp] {
				delete(seen, fp)
			}
		}
	}
}

// applySignerEvidence folds the signature evidence of b into the
// partners' state of a transaction at time now: when each certificate
// last verified a response, the first response signed with a new
// certificate, and responses signed with an old one after the partner's
// switch.
func (m *Manager) applySignerEvidence(read blobReader, d *docs, b batch, now time.Time) error {
	if len(b.sig) == 0 {
		return nil
	}
	sd, err := d.signers(read)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(b.sig)) {
		ps := sd.partner(id)
		if ps == nil {
			continue
		}
		obs := b.sig[id]
		for _, c := range []*partnerCert{ps.Current, ps.Old} {
			if c == nil {
				continue
			}
			if u := obs[c.fingerprint()]; u.n() > 0 && u.last.After(c.LastVerified) {
				c.LastVerified = u.last
				d.signersChanged = true
			}
		}
		if ps.inRenewal() {
			m.applyRenewalSignatures(d, id, ps, obs, now)
		}
	}
	return nil
}

// applyRenewalSignatures records the first response signed with the new
// certificate and counts those signed with the old one after the
// partner's switch.
func (m *Manager) applyRenewalSignatures(d *docs, id string, ps *partnerState, obs map[wssec.Fingerprint]signUse, now time.Time) {
	newFP, oldFP := ps.Current.fingerprint(), ps.Old.fingerprint()
	rec := func(r Record) {
		r.Time, r.Renewal, r.Partner, r.NewKey, r.OldKey = now, ps.Renewal, id, newFP, oldFP
		d.recordSigner(r)
	}
	if u := obs[newFP]; u.n() > 0 && !u.last.Before(ps.Started) && ps.FirstNewSignature.IsZero() {
		at := u.first
		if at.Before(ps.Started) {
			at = u.last
		}
		ps.FirstNewSignature = at
		d.signersChanged = true
		rec(Record{Action: ActionNewCertificateFirstUse, Count: u.n(),
			Note: "first response signed with the new certificate verified at " + at.Format(time.RFC3339)})
	}
	u := obs[oldFP]
	if ps.Stage != SignerStageSwitched || u.n() == 0 || !u.last.After(ps.Confirmed) {
		return
	}
	ps.OldUses += u.n()
	ps.OldUsesPending += u.n()
	d.signersChanged = true
	note := fmt.Sprintf("the partner's switch was confirmed at %s, but the old certificate verified its responses until %s",
		ps.Confirmed.Format(time.RFC3339), u.last.Format(time.RFC3339))
	if !auditSignerUse(d, id, ps, note, now) {
		d.warn("rollover: old certificate used after confirmation", slog.String("partner", id),
			slog.Uint64("renewal", ps.Renewal), slog.Uint64("count", u.n()), slog.String("note", note))
	}
}

// auditSignerUse appends an audit record of the old certificate's uses
// counted but not audited, unless one was appended less than a day ago;
// it reports whether it did.
func auditSignerUse(d *docs, id string, ps *partnerState, note string, now time.Time) bool {
	if ps.OldUsesPending == 0 || !ps.OldUseAudited.IsZero() && now.Sub(ps.OldUseAudited) < useAuditInterval {
		return false
	}
	d.recordSigner(Record{Time: now, Renewal: ps.Renewal, Action: ActionOldCertificateUsedAfterConfirmation, Partner: id,
		NewKey: ps.Current.fingerprint(), OldKey: ps.Old.fingerprint(), Count: ps.OldUsesPending, Note: note})
	ps.OldUsesPending, ps.OldUseAudited = 0, now
	return true
}
