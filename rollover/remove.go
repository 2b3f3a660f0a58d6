package rollover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// RemoveOldKey is step 7: it takes the old key pair out of the store's
// key ring and ends the renewal. With a restore window
// ([Policy.RestoreWindow], 7 days by default) the key is disabled
// ([keystore.Tx.Disable]): a message encrypted to it is refused, and
// [Manager.RestoreKey] puts it back until the store destroys it after the
// window (recorded as [ActionDestroyKey]). Without one it is removed at
// once. It is refused with a
// [*RemovalError], which unwraps to [wssec.ErrRetentionNotElapsed] and
// says in AllowedAt when removal becomes allowed:
//
//   - before the old key's expiry (the last confirmation plus the
//     retention period);
//   - while the old key decrypted a response less than
//     GuaranteedDelivery ago, by the persisted evidence, the usage
//     records of the store's holders ([keystore.Store.Usage], kept
//     after a holder stops), this process's key ring and evidence not
//     yet written ([ErrKeyInUse]);
//   - if a receiver's confirmation was withdrawn since s was returned
//     ([ErrReceiversPending]; AllowedAt is zero).
//
// The retention period and GuaranteedDelivery are each the longer of the
// value recorded when the renewal started and the Manager's [Policy], so a
// process configured with shorter times (or none) removes no key sooner
// than the one that started the renewal would.
//
// The store checks the expiry once more with its own clock, with the same
// refusal. RemoveOldKey also returns a [*StageError] with [ErrStaleStage],
// a [*StateError] with [ErrInconsistent], and the errors of
// [keystore.Store.Update] and [keystore.Store.Usage]. It uses the
// Manager's clock.
func (s *ReceiversSwitched) RemoveOldKey(ctx context.Context) (*Idle, error) {
	if s == nil || !s.ok() {
		return nil, errNilStage
	}
	lastUsedLive := s.liveLastUsed()
	// What every holder of the store recorded, live or stopped.
	recorded, err := s.m.recordedLastUsed(ctx, s.st.Old.fingerprint())
	if err != nil {
		return nil, err
	}
	if recorded.After(lastUsedLive) {
		lastUsedLive = recorded
	}
	st, err := s.m.update(ctx, "RemoveOldKey", nil, func(tx *keystore.Tx, d *docs, now time.Time) error {
		st := d.state
		refuse := &RemovalError{Alias: st.Old.alias(), Fingerprint: st.Old.fingerprint()}
		// A confirmation withdrawn since s was returned is the more useful
		// answer than a stale stage.
		if st.Renewal == s.st.Renewal && st.Stage == StageCertificateProvided {
			refuse.Pending, refuse.Err = st.pending(), ErrReceiversPending
			return refuse
		}
		if err := checkFresh("RemoveOldKey", s.st, st); err != nil {
			return err
		}
		if err := checkEntries(st, tx.Entries()); err != nil {
			return err
		}
		oldFP := st.Old.fingerprint()
		last := lastUsedLive
		if t := d.usage.LastUsed[procedure.Hex(oldFP)]; t.After(last) {
			last = t
		}
		refuse.LastUsed = last
		p := st.policy(s.m.opts.Policy)
		allowed := procedure.RemovableAt(st.oldKeyExpiry(s.m.opts.Policy), last, p.rules())
		if now.Before(allowed) {
			refuse.AllowedAt = allowed
			if !last.IsZero() && now.Before(last.Add(p.guaranteedDelivery())) {
				refuse.Err = ErrKeyInUse
			}
			return refuse
		}
		window, soft := s.m.opts.Policy.restoreWindow()
		if soft {
			err = tx.Disable(st.Old.Alias, window)
		} else {
			err = tx.Remove(st.Old.Alias)
		}
		if err != nil {
			var re *wssec.KeyError
			if errors.As(err, &re) && re.Err == wssec.ErrRetentionNotElapsed {
				refuse.AllowedAt = re.AllowedAt
				return refuse
			}
			return err
		}
		flushUseAudit(d, now)
		if soft {
			d.record(Record{Time: now, Action: ActionDisableOldKey, Actor: s.m.opts.Actor,
				Note: fmt.Sprintf("%s disabled; retention ended %s; destroyed after %s unless restored", st.Old.Alias, st.Expires.Format(time.RFC3339), now.Add(window).Format(time.RFC3339))})
		} else {
			delete(d.usage.LastUsed, procedure.Hex(oldFP))
			d.usageChanged = true
			d.record(Record{Time: now, Action: ActionRemoveOldKey, Actor: s.m.opts.Actor,
				Note: fmt.Sprintf("%s removed; retention ended %s", st.Old.Alias, st.Expires.Format(time.RFC3339))})
		}
		endRenewal(d, now, "completed")
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.m.pruneUsage(ctx, s.st.policy(s.m.opts.Policy))
	return &Idle{base{s.m, st}}, nil
}

// liveLastUsed returns when this process's key ring last used the old
// key.
func (s *ReceiversSwitched) liveLastUsed() time.Time {
	fp := s.st.Old.fingerprint()
	for _, e := range s.m.ringSnapshot() {
		if e.Fingerprint == fp {
			return procedure.NormTime(e.LastUsed)
		}
	}
	return time.Time{}
}

// RestoreKey puts the key alias, disabled by step 7
// ([ReceiversSwitched.RemoveOldKey]) and not destroyed yet, back into the
// key ring as a retained key with the expiry it had, and records it
// ([ActionRestoreKey]). Use it when messages encrypted to the key are
// refused ([keystore.ErrKeyDisabled]): a receiver still uses it. It
// returns the errors of [keystore.Tx.Retain] (a [*keystore.EntryError] for [keystore.ErrStatus]
// unless the key is disabled; an [*keystore.EntryError] with
// [keystore.ErrUnknownAlias] once it is destroyed) and of
// [keystore.Store.Update]. It uses the Manager's clock.
func (m *Manager) RestoreKey(ctx context.Context, alias string) error {
	_, err := m.update(ctx, "RestoreKey", nil, func(tx *keystore.Tx, d *docs, now time.Time) error {
		e, err := tx.Entry(alias)
		if err != nil {
			return err
		}
		if e.Status != keystore.StatusDisabled {
			return &keystore.EntryError{Alias: alias, Status: e.Status, Op: "RestoreKey", Err: keystore.ErrStatus}
		}
		if err := tx.Retain(alias, e.Expires); err != nil {
			return err
		}
		d.record(Record{Time: now, Action: ActionRestoreKey, Actor: m.opts.Actor, OldKey: e.Fingerprint,
			Note: fmt.Sprintf("%s restored as retained (expiry %s); it was disabled %s", alias, e.Expires.Format(time.RFC3339), e.DisabledAt.Format(time.RFC3339))})
		return nil
	})
	return err
}

// recordDestroyed moves the store's records of destroyed keys — this
// transaction's and those of earlier ones, such as a follower's tick —
// into the audit trail, in the same transaction.
func recordDestroyed(tx *keystore.Tx, d *docs) error {
	gone, err := tx.TakeDestructions()
	if err != nil {
		return err
	}
	for _, x := range gone {
		d.record(destroyRecord(x))
	}
	return nil
}

// destroyRecord is the audit record of a key the store destroyed.
func destroyRecord(x keystore.Destruction) Record {
	return Record{Time: x.Time, Action: ActionDestroyKey, OldKey: x.Fingerprint,
		Note: fmt.Sprintf("%s destroyed; disabled %s, restore window ended %s", x.Alias, x.DisabledAt.Format(time.RFC3339), x.DestroyAfter.Format(time.RFC3339))}
}
