package rollover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// checkHolders refuses step 3 until every live holder of the store holds
// the key fp with a passed self-test, and at least Policy.MinHolders are
// live. A backend without records has no holders.
func (m *Manager) checkHolders(ctx context.Context, fp wssec.Fingerprint) error {
	hs, e, err := m.liveHolders(ctx, fp)
	if err != nil {
		return err
	}
	for _, h := range hs {
		if h.Holds(fp) {
			continue
		}
		l := Laggard{ID: h.ID, Host: h.Host, PID: h.PID, Generation: h.Generation, Reason: "has not loaded the key"}
		for _, k := range h.Keys {
			if k.Fingerprint == fp {
				l.Reason = "failed the self-test: " + k.SelfTestError
			}
		}
		if h.Error != "" {
			l.Reason += "; it cannot follow the store: " + h.Error
		}
		e.Laggards = append(e.Laggards, l)
	}
	return e.orNil()
}

// liveHolders lists the live holders and starts the error that names
// those not ready for fp.
func (m *Manager) liveHolders(ctx context.Context, fp wssec.Fingerprint) ([]keystore.Holder, *HoldersError, error) {
	hs, err := m.store.Holders(ctx)
	if err != nil && !errors.Is(err, keystore.ErrNoRecords) {
		return nil, nil, err
	}
	return hs, &HoldersError{Fingerprint: fp, Live: len(hs), MinHolders: m.opts.Policy.MinHolders}, nil
}

func (e *HoldersError) orNil() error {
	if len(e.Laggards) > 0 || e.Live < e.MinHolders {
		return e
	}
	return nil
}

// TrustedSigners synchronizes the Manager's trust rings with the store
// ([Manager.SyncTrustRings]) and returns the fingerprints of every
// certificate they trust, of every partner, for
// keystore.FollowOptions.Trusted: a follower then registers what its
// process trusts. It returns the errors of SyncTrustRings and
// [Manager.TrustRing]; nil if no partner is trusted.
func (m *Manager) TrustedSigners(ctx context.Context) ([]wssec.Fingerprint, error) {
	if err := m.SyncTrustRings(ctx); err != nil {
		return nil, err
	}
	partners, err := m.Partners()
	if err != nil {
		return nil, err
	}
	var out []wssec.Fingerprint
	for _, p := range partners {
		r, err := m.TrustRing(p)
		if err != nil {
			return nil, err
		}
		for _, e := range r.Snapshot() {
			out = append(out, e.Fingerprint)
		}
	}
	return out, nil
}

// CheckHolders reports whether the partner may be told that its new
// certificate is trusted: it returns a [*HoldersError]
// ([ErrHoldersNotReady]) listing each live holder of the store whose
// registration (keystore.FollowOptions.Trusted, such as
// [Manager.TrustedSigners]) does not include the new certificate, or if
// fewer than [Policy.MinHolders] holders are live; nil once all trust
// it. A holder that reports no trusted certificates at all does not
// verify signatures and is not waited for. CheckHolders changes nothing;
// call it before telling the partner, and again until it returns nil.
// It also returns the errors of keystore.Store.Holders.
func (s *SignerCertificateAdded) CheckHolders(ctx context.Context) error {
	b := s.signer()
	if !b.ok() {
		return errNilStage
	}
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	fp := b.ps.Current.fingerprint()
	hs, e, err := b.m.liveHolders(ctx, fp)
	if err != nil {
		return err
	}
	e.Signer = b.partner
	for _, h := range hs {
		if len(h.Trusted) == 0 || slices.Contains(h.Trusted, fp) {
			continue
		}
		e.Laggards = append(e.Laggards, Laggard{ID: h.ID, Host: h.Host, PID: h.PID, Generation: h.Generation, Reason: "does not trust the certificate yet"})
	}
	return e.orNil()
}

// recordedLastUsed returns when the key fp last decrypted a message in
// any holder of the store, by their usage records; zero if never or if
// the backend keeps no records.
func (m *Manager) recordedLastUsed(ctx context.Context, fp wssec.Fingerprint) (time.Time, error) {
	last, err := m.store.LastUsed(ctx)
	if errors.Is(err, keystore.ErrNoRecords) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return normTime(last[fp]), nil
}

// pruneUsage removes usage records of stopped holders written more than
// the guaranteed delivery time ago: every use they record is older, so
// no retention decision needs them. A failure is logged and left for the
// next renewal.
func (m *Manager) pruneUsage(ctx context.Context, p Policy) {
	now := m.opts.now()
	if _, err := m.store.PruneUsage(ctx, now.Add(-p.guaranteedDelivery())); err != nil && !errors.Is(err, keystore.ErrNoRecords) {
		m.log(ctx, now, slog.LevelWarn, "rollover: removing old usage records failed", "error", err.Error())
	}
}
