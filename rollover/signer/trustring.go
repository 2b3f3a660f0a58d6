package signer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// removedExpiry is the expiry a certificate gets in a trust ring just
// before the Manager drops it because the store no longer trusts it: the
// retention rules were applied by the step that removed it from the
// store, and the ring's own rule only needs an expiry in the past.
var removedExpiry = time.Unix(0, 0).UTC()

// TrustRing returns the trust ring of partner's signing certificates, for
// the Signers of the [wssec.Decryptor] that processes the partner's
// responses. The Manager keeps the ring and returns the same one on every
// call; it changes the ring in place, so the application keeps using it:
//
//   - each step of the partner's renewal taken through this Manager
//     updates it when the step returns;
//   - [Manager.SyncTrustRings] (and [Manager.Resume] for one partner)
//     brings it in step with steps other processes took.
//
// Changes add certificates before they drop any, so no verification in
// between refuses a certificate the store trusts. The ring counts which
// certificate verified each response; [Manager.RecordUsage] writes that
// evidence, which step 2 and step 3 rely on.
//
// TrustRing builds the ring from the store's state as this process last
// read it, without I/O, with the Manager's clock (which also decides
// whether a message's wsu:Timestamp is current). It returns
// [rollover.ErrInvalidArgument] for an invalid partner ID,
// [ErrUnknownPartner] if no certificate of the partner is trusted, a
// [*rollover.StateError] with [rollover.ErrCorruptState], and
// wssec.ErrInvalidKey for a stored certificate that cannot verify
// signatures. It is safe for concurrent use.
func (m *Manager) TrustRing(partner string) (*wssec.TrustRing, error) {
	if m == nil {
		return nil, errNilManager
	}
	if err := checkPartner(partner); err != nil {
		return nil, err
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	if r := m.rings[partner]; r != nil {
		return r, nil
	}
	sd, err := loadState(m.store.ReadState)
	if err != nil {
		return nil, err
	}
	ps := sd.partner(partner)
	if ps == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPartner, partner)
	}
	ring, err := wssec.NewTrustRing(ps.Current.cert, wssec.RingOptions{Now: m.opts.Now})
	if err != nil {
		return nil, err
	}
	if err := syncRing(ring, ps); err != nil {
		return nil, err
	}
	m.rings[partner] = ring
	return ring, nil
}

// SyncTrustRings reloads the key store ([keystore.Store.Reload]), brings
// every trust ring that [Manager.TrustRing] returned in step with the
// partners' persisted state, such as after steps another process took,
// and returns the fingerprints of every certificate the store trusts for
// any partner: what keystore.FollowOptions.Trusted registers for a
// process, so that [CertificateAdded.CheckHolders] knows what it
// trusts. Call it where the application reloads the store; it starts no
// goroutines.
//
// SyncTrustRings returns [rollover.ErrInvalidArgument] for a nil
// Context, the errors of Reload and a [*rollover.StateError] with
// [rollover.ErrCorruptState]; a ring that cannot be brought in step
// keeps what it trusted. It returns nil fingerprints if no partner is
// trusted. It is safe for concurrent use.
func (m *Manager) SyncTrustRings(ctx context.Context) ([]wssec.Fingerprint, error) {
	if m == nil {
		return nil, errNilManager
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil Context", rollover.ErrInvalidArgument)
	}
	if _, err := m.store.Reload(ctx); err != nil {
		return nil, err
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	sd, err := loadState(m.store.ReadState)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(m.rings)) {
		if ps := sd.partner(id); ps != nil {
			errs = append(errs, syncRing(m.rings[id], ps))
		}
	}
	var out []wssec.Fingerprint
	for _, id := range slices.Sorted(maps.Keys(sd.Partners)) {
		ps := sd.Partners[id]
		out = append(out, ps.Current.fingerprint())
		if ps.Old != nil {
			out = append(out, ps.Old.fingerprint())
		}
	}
	return out, errors.Join(errs...)
}

// syncPartnerRing brings the ring of partner, if the Manager has one, in
// step with the store's current state. The store is read again, under the
// ring lock, so that of two concurrent steps the later state wins.
func (m *Manager) syncPartnerRing(partner string) error {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	ring := m.rings[partner]
	if ring == nil {
		return nil
	}
	sd, err := loadState(m.store.ReadState)
	if err != nil {
		return err
	}
	if ps := sd.partner(partner); ps != nil {
		return syncRing(ring, ps)
	}
	return nil
}

// syncRing makes ring hold exactly the certificates of ps: the current
// one as current, the old one retained while the store holds it. It adds
// before it drops.
func syncRing(ring *wssec.TrustRing, ps *partnerState) error {
	entries := func() map[wssec.Fingerprint]wssec.Entry {
		out := map[wssec.Fingerprint]wssec.Entry{}
		for _, e := range ring.Snapshot() {
			out[e.Fingerprint] = e
		}
		return out
	}
	have := entries()
	// A ring ends trust at a retained certificate's expiry. The store
	// trusts the old certificate until step 3 removes it, which it may
	// refuse past the expiry while the certificate is in use (by evidence
	// this process may not have written yet): so the ring's entry has no
	// expiry, and the certificate goes when the store drops it. The
	// retention's end is the stage's OldCertificateExpires.
	keep := map[wssec.Fingerprint]bool{}
	for _, c := range []*partnerCert{ps.Current, ps.Old} {
		if c == nil {
			continue
		}
		keep[c.fingerprint()] = true
		if _, ok := have[c.fingerprint()]; !ok {
			if err := ring.Retain(c.cert, time.Time{}); err != nil {
				return err
			}
		}
	}
	if have = entries(); have[ps.Current.fingerprint()].Status != wssec.StatusCurrent {
		if err := ring.Rotate(ps.Current.cert); err != nil {
			return err
		}
	}
	if ps.Old != nil {
		if err := ring.SetExpiry(ps.Old.cert, time.Time{}); err != nil {
			return err
		}
	}
	for fp, e := range entries() {
		if keep[fp] {
			continue
		}
		if err := ring.SetExpiry(e.Certificate, removedExpiry); err != nil {
			return err
		}
		if err := ring.Remove(e.Certificate); err != nil {
			return err
		}
	}
	return nil
}

// ringsHeld returns the rings the Manager handed out, by partner.
func (m *Manager) ringsHeld() map[string]*wssec.TrustRing {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	return maps.Clone(m.rings)
}

// trustLastUsed returns when each certificate of partner last verified a
// signature, by this process's ring and the evidence not yet written.
func (m *Manager) trustLastUsed(partner string) map[wssec.Fingerprint]time.Time {
	out := map[wssec.Fingerprint]time.Time{}
	note := func(fp wssec.Fingerprint, t time.Time) {
		out[fp] = procedure.Later(out[fp], procedure.NormTime(t))
	}
	if ring := m.ringsHeld()[partner]; ring != nil {
		for _, e := range ring.Snapshot() {
			note(e.Fingerprint, e.LastUsed)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for fp, u := range m.ev.pending[partner] {
		note(fp, u.Last)
	}
	return out
}

// CheckHolders reports whether the partner may be told that its new
// certificate is trusted: it returns a [*rollover.HoldersError]
// ([rollover.ErrHoldersNotReady]) listing each live holder of the store
// whose registration (keystore.FollowOptions.Trusted, such as
// [Manager.SyncTrustRings]) does not include the new certificate, or if
// fewer than [rollover.Policy].MinHolders holders are live; nil once all
// trust it. A holder that reports no trusted certificates at all does not
// verify signatures and is not waited for. CheckHolders changes nothing;
// call it before telling the partner, and again until it returns nil.
// It also returns [rollover.ErrInvalidArgument] for a nil Context and
// the errors of keystore.Store.Holders.
func (s *CertificateAdded) CheckHolders(ctx context.Context) error {
	b := baseOf(s)
	if !b.ok() || b.ps == nil {
		return errNilStage
	}
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", rollover.ErrInvalidArgument)
	}
	hs, err := b.m.store.Holders(ctx)
	if err != nil && !errors.Is(err, keystore.ErrNoRecords) {
		return err
	}
	fp := b.ps.Current.fingerprint()
	e := &rollover.HoldersError{Fingerprint: fp, Signer: b.partner, Live: len(hs), MinHolders: b.m.opts.Policy.MinHolders}
	for _, h := range hs {
		if len(h.Trusted) == 0 || slices.Contains(h.Trusted, fp) {
			continue
		}
		e.Laggards = append(e.Laggards, rollover.Laggard{ID: h.ID, Host: h.Host, PID: h.PID, Generation: h.Generation, Reason: "does not trust the certificate yet"})
	}
	if len(e.Laggards) > 0 || e.Live < e.MinHolders {
		return e
	}
	return nil
}
