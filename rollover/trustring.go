package rollover

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

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
//   - [Manager.SyncTrustRings] (and [Manager.ResumeSigner] for one
//     partner) brings it in step with steps other processes took.
//
// Changes add certificates before they drop any, so no verification in
// between refuses a certificate the store trusts. The ring counts which
// certificate verified each response; [Manager.RecordUsage] writes that
// evidence, which step 2 and step 3 rely on.
//
// TrustRing builds the ring from the store's state as this process last
// read it, without I/O, with the Manager's clock (which also decides
// whether a message's wsu:Timestamp is current). It returns
// [ErrInvalidArgument] for an invalid partner ID, [ErrUnknownPartner] if
// no certificate of the partner is trusted, a [*StateError] with
// [ErrCorruptState], and wssec.ErrInvalidKey for a stored certificate
// that cannot verify signatures. It is safe for concurrent use.
func (m *Manager) TrustRing(partner string) (*wssec.TrustRing, error) {
	if m == nil {
		return nil, errNilStore
	}
	if err := checkPartner(partner); err != nil {
		return nil, err
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	if r := m.rings[partner]; r != nil {
		return r, nil
	}
	sd, err := loadSigners(m.store.View().State)
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
	if err := m.syncRing(ring, ps); err != nil {
		return nil, err
	}
	m.rings[partner] = ring
	return ring, nil
}

// SyncTrustRings reloads the key store ([keystore.Store.Reload]) and
// brings every trust ring that [Manager.TrustRing] returned in step with
// the partners' persisted state, such as after steps another process
// took. Call it where the application reloads the store; it starts no
// goroutines.
//
// SyncTrustRings returns the errors of Reload and a [*StateError] with
// [ErrCorruptState]; a ring that cannot be brought in step keeps what it
// trusted. It is safe for concurrent use.
func (m *Manager) SyncTrustRings(ctx context.Context) error {
	if m == nil {
		return errNilStore
	}
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	if _, err := m.store.Reload(ctx); err != nil {
		return err
	}
	return m.syncRings()
}

// Partners returns the IDs of the partners with a trusted certificate,
// sorted, from the store's state as this process last read it. It
// returns a [*StateError] with [ErrCorruptState].
func (m *Manager) Partners() ([]string, error) {
	if m == nil {
		return nil, errNilStore
	}
	sd, err := loadSigners(m.store.View().State)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(sd.Partners)), nil
}

// syncRings brings every ring in step with the store's current state.
func (m *Manager) syncRings() error {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	if len(m.rings) == 0 {
		return nil
	}
	sd, err := loadSigners(m.store.View().State)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(m.rings)) {
		if ps := sd.partner(id); ps != nil {
			errs = append(errs, m.syncRing(m.rings[id], ps))
		}
	}
	return errors.Join(errs...)
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
	sd, err := loadSigners(m.store.View().State)
	if err != nil {
		return err
	}
	if ps := sd.partner(partner); ps != nil {
		return m.syncRing(ring, ps)
	}
	return nil
}

// syncRing makes ring hold exactly the certificates of ps: the current
// one as current, the old one retained while the store holds it. It adds
// before it drops.
func (m *Manager) syncRing(ring *wssec.TrustRing, ps *partnerState) error {
	entries := func() map[wssec.Fingerprint]wssec.Entry {
		out := map[wssec.Fingerprint]wssec.Entry{}
		for _, e := range ring.Snapshot() {
			out[e.Fingerprint] = e
		}
		return out
	}
	have := entries()
	curFP := ps.Current.fingerprint()
	if _, ok := have[curFP]; !ok {
		if err := ring.Retain(ps.Current.cert, time.Time{}); err != nil {
			return err
		}
	}
	var oldFP wssec.Fingerprint
	// A ring ends trust at a retained certificate's expiry. The store
	// trusts the old certificate until step 3 removes it, which it may
	// refuse past the expiry while the certificate is in use (by evidence
	// this process may not have written yet): so the ring's entry has no
	// expiry, and the certificate goes when the store drops it. The
	// retention's end is the stage's OldCertificateExpires.
	var oldExpires time.Time
	if ps.Old != nil {
		oldFP = ps.Old.fingerprint()
		if _, ok := have[oldFP]; !ok {
			if err := ring.Retain(ps.Old.cert, oldExpires); err != nil {
				return err
			}
		}
	}
	if have = entries(); have[curFP].Status != wssec.StatusCurrent {
		if err := ring.Rotate(ps.Current.cert); err != nil {
			return err
		}
	}
	if ps.Old != nil {
		if err := ring.SetExpiry(ps.Old.cert, oldExpires); err != nil {
			return err
		}
	}
	for fp, e := range entries() {
		if fp == curFP || ps.Old != nil && fp == oldFP {
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

// trustRingsHeld returns the rings the Manager handed out, by partner.
func (m *Manager) trustRingsHeld() map[string]*wssec.TrustRing {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	return maps.Clone(m.rings)
}

// trustLastUsed returns when each certificate of partner last verified a
// signature, by this process's ring and the evidence not yet written.
func (m *Manager) trustLastUsed(partner string) map[wssec.Fingerprint]time.Time {
	out := map[wssec.Fingerprint]time.Time{}
	note := func(fp wssec.Fingerprint, t time.Time) {
		if t = normTime(t); t.After(out[fp]) {
			out[fp] = t
		}
	}
	if ring := m.trustRingsHeld()[partner]; ring != nil {
		for _, e := range ring.Snapshot() {
			note(e.Fingerprint, e.LastUsed)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for fp, u := range m.ev.pending.sig[partner] {
		note(fp, u.last)
	}
	return out
}
