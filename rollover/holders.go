package rollover

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
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
		if slices.Contains(h.Keys, fp) {
			continue
		}
		l := Laggard{ID: h.ID, Host: h.Host, PID: h.PID, Generation: h.Generation, Reason: "has not loaded the key"}
		if why, ok := h.Failed[fp]; ok {
			l.Reason = "failed the self-test: " + why
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

// recordedLastUsed returns when the key fp last decrypted a message in
// any holder of the store, by their usage records; zero if never or if
// the backend keeps no records.
func (m *Manager) recordedLastUsed(ctx context.Context, fp wssec.Fingerprint) (time.Time, error) {
	recs, err := m.store.Usage(ctx)
	if errors.Is(err, keystore.ErrNoRecords) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, u := range recs {
		if u.Fingerprint == fp {
			last = procedure.Later(last, u.LastUsed)
		}
	}
	return procedure.NormTime(last), nil
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
