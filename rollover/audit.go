package rollover

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// Action names what an audit [Record] records: a step of the procedure,
// or evidence the procedure observed. The partners' renewals (package
// rollover/signer) add actions of their own.
type Action = procedure.Action

// Actions of the audit trail.
const (
	// Step 1.
	ActionCreateKeyPair    Action = "create-key-pair"
	ActionImportKeyPair    Action = "import-key-pair"
	ActionAdoptCertificate Action = "adopt-certificate"
	// Step 2.
	ActionAddToKeyStore Action = "add-to-key-store"
	// Step 3: the self-test, then one record per receiver.
	ActionSelfTest           Action = "self-test"
	ActionProvideCertificate Action = "provide-certificate"
	// Steps 4 to 6, as the tenant learns of them: one record per
	// receiver, and the old key's expiry once every receiver confirmed.
	ActionConfirmReceiverSwitched Action = "confirm-receiver-switched"
	ActionWithdrawConfirmation    Action = "withdraw-confirmation"
	ActionSetOldKeyExpiry         Action = "set-old-key-expiry"
	// Step 7.
	ActionRemoveOldKey Action = "remove-old-key"
	// Step 7 with a restore window ([Policy.RestoreWindow]): the old key
	// is disabled, then restored by an operator or destroyed once the
	// window has passed.
	ActionDisableOldKey Action = "disable-old-key"
	ActionRestoreKey    Action = "restore-key"
	ActionDestroyKey    Action = "destroy-key"
	// Messages encrypted to a disabled key were refused
	// ([Manager.ObserveRefusal]); Count says how many.
	ActionDisabledKeyRefused Action = "disabled-key-refused"
	// Abandoning a renewal before step 3.
	ActionCancel Action = "cancel"
	// A certificate handed out outside step 3 ([Manager.ExportCertificate]);
	// the key store keeps the key as provided from then on.
	ActionExportCertificate Action = "export-certificate"
	// An operator's note ([Manager.Note]), such as a simulation run on a
	// copy of the store.
	ActionNote Action = "note"
	// The retention policy recorded with a renewal in progress was raised
	// to the longer Policy of the Manager that wrote a change, or recorded
	// for a renewal started before the policy was kept with it.
	ActionRaiseRetention Action = "raise-retention"
	// Evidence: the first response decrypted with the new key (ring-wide
	// and per receiver, where the application attributes responses), and
	// responses decrypted with the old key after a confirmation.
	ActionNewKeyFirstUse              Action = "new-key-first-use"
	ActionOldKeyUsedAfterConfirmation Action = "old-key-used-after-confirmation"
)

// Record is one entry of the audit trail, of the decryption-key renewal
// or of a partner's (Partner set). It holds fingerprints, receivers,
// names and times, never keys or passwords: Time, Renewal (counting from
// 1, a partner's renewals on their own), Action, Actor
// ([Options.Actor]), the fingerprints NewKey and OldKey, Receiver or
// Partner, By and Reference of a confirmation, a Note and the Count of
// an evidence record.
type Record = procedure.Record

// History returns the audit trail kept in store, oldest first: every
// step of every renewal, the evidence recorded, and the keys the store
// destroyed once their restore window passed (also those a
// [keystore.Follower] destroyed, before the next change moves their
// records into the trail). The trail keeps the
// latest 2000 records; the log received all of them. History reads the
// store's current state without I/O (call [keystore.Store.Reload] for
// changes made by other processes). It returns a [*StateError] with
// [ErrCorruptState], or [ErrInvalidArgument] for a nil store.
func History(store *keystore.Store) ([]Record, error) {
	if store == nil {
		return nil, errNilStore
	}
	out, _, err := procedure.ReadAudit(store.ReadState)
	if err != nil {
		return nil, err
	}
	// Keys the store destroyed since the last change this package wrote
	// (on a follower's tick, say): the next change moves them into the
	// trail, with these records.
	gone, err := store.Destructions()
	if errors.Is(err, keystore.ErrInvalidState) {
		return nil, &StateError{Name: "keystore-destroyed", Reason: "cannot read", Err: ErrCorruptState, Cause: err}
	}
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		st := &stateDoc{Version: procedure.Version}
		if err := procedure.LoadBlob(store.ReadState, stateName, st); err != nil {
			return nil, err
		}
		d := &docs{state: st}
		for _, x := range gone {
			d.record(destroyRecord(x))
		}
		out = append(out, d.added...)
	}
	return out, nil
}

// emit logs the records and warnings of a committed transaction, with
// the Manager's clock as the log time of the warnings.
func (m *Manager) emit(ctx context.Context, txn *procedure.Txn) {
	procedure.Emit(ctx, m.logger, txn.Records(), ActionOldKeyUsedAfterConfirmation)
	for _, w := range txn.Warnings() {
		m.log(ctx, m.opts.now(), slog.LevelWarn, w.Msg, w.Attrs...)
	}
}

// log writes one log record stamped with t.
func (m *Manager) log(ctx context.Context, t time.Time, level slog.Level, msg string, attrs ...any) {
	procedure.Log(ctx, m.logger, t, level, msg, attrs...)
}

// Note appends an [ActionNote] record with note to the audit trail, at
// the Manager's clock's time, and changes nothing else. It returns
// [ErrInvalidArgument] for a note over 1024 bytes or with control
// characters, and the errors of [keystore.Store.Update].
func (m *Manager) Note(ctx context.Context, note string) error {
	if m == nil {
		return errNilStore
	}
	if err := procedure.CheckText("note", note); err != nil {
		return err
	}
	_, err := m.update(ctx, "Note", nil, func(_ *keystore.Tx, d *docs, now time.Time) error {
		d.record(Record{Time: now, Action: ActionNote, Actor: m.opts.Actor, Note: note})
		return nil
	})
	return err
}
