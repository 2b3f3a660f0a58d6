package rollover

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// Action names what an audit [Record] records: a step of the procedure,
// or evidence the procedure observed.
type Action string

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

// Actions of the audit trail of a partner's signing-certificate renewal;
// their records name the partner ([Record.Partner]).
const (
	// The first certificate of a partner trusted.
	ActionTrustCertificate Action = "trust-partner-certificate"
	// Step 1: the partner's new certificate added to the trust ring.
	ActionAddCertificate Action = "add-partner-certificate"
	// Step 2: the partner signs with the new certificate, by its word or
	// by evidence; then the old certificate's expiry.
	ActionConfirmPartnerSwitched      Action = "confirm-partner-switched"
	ActionWithdrawPartnerConfirmation Action = "withdraw-partner-confirmation"
	ActionSetOldCertificateExpiry     Action = "set-old-certificate-expiry"
	// Step 3.
	ActionRemoveOldCertificate Action = "remove-old-certificate"
	// Removing the new certificate again before the partner's switch.
	ActionCancelCertificate Action = "cancel-partner-certificate"
	// Evidence: the first response signed with the new certificate, and
	// responses signed with the old one after the partner's switch.
	ActionNewCertificateFirstUse              Action = "new-certificate-first-use"
	ActionOldCertificateUsedAfterConfirmation Action = "old-certificate-used-after-confirmation"
)

// Record is one entry of the audit trail. It holds fingerprints,
// receivers, names and times, never keys or passwords.
type Record struct {
	// Time is when the step was taken, by the Manager's clock.
	Time time.Time
	// Renewal is the number of the renewal, counting from 1.
	Renewal uint64
	Action  Action
	// Actor is who took the step ([Options.Actor]).
	Actor string
	// NewKey and OldKey are the fingerprints of the renewal's keys, or of
	// the partner's new and old signing certificates; zero where not
	// known yet.
	NewKey wssec.Fingerprint
	OldKey wssec.Fingerprint
	// Receiver is the receiver the record concerns, if any.
	Receiver string
	// Partner is the partner whose signing certificate the record
	// concerns; empty for records of the decryption key's renewal, whose
	// Renewal numbers are the decryption key's. A partner's renewals are
	// numbered on their own.
	Partner string
	// By and Reference are who confirmed on the receiver's side and the
	// confirmation's reference, such as a ticket.
	By        string
	Reference string
	// Note is free text: the caller's note, or what the step did.
	Note string
	// Count is the number of responses an evidence record counts.
	Count uint64
}

type recordJSON struct {
	Time      time.Time `json:"time"`
	Renewal   uint64    `json:"renewal"`
	Action    Action    `json:"action"`
	Actor     string    `json:"actor,omitempty"`
	NewKey    string    `json:"new,omitempty"`
	OldKey    string    `json:"old,omitempty"`
	Receiver  string    `json:"receiver,omitempty"`
	Partner   string    `json:"partner,omitempty"`
	By        string    `json:"by,omitempty"`
	Reference string    `json:"reference,omitempty"`
	Note      string    `json:"note,omitempty"`
	Count     uint64    `json:"count,omitempty"`
}

func (r Record) toJSON() recordJSON {
	j := recordJSON{
		Time: r.Time, Renewal: r.Renewal, Action: r.Action, Actor: r.Actor,
		Receiver: r.Receiver, Partner: r.Partner, By: r.By, Reference: r.Reference, Note: r.Note, Count: r.Count,
	}
	if r.NewKey != (wssec.Fingerprint{}) {
		j.NewKey = fpHex(r.NewKey)
	}
	if r.OldKey != (wssec.Fingerprint{}) {
		j.OldKey = fpHex(r.OldKey)
	}
	return j
}

func (j recordJSON) record() Record {
	r := Record{
		Time: normTime(j.Time), Renewal: j.Renewal, Action: j.Action, Actor: j.Actor,
		Receiver: j.Receiver, Partner: j.Partner, By: j.By, Reference: j.Reference, Note: j.Note, Count: j.Count,
	}
	r.NewKey, _ = parseFP(j.NewKey)
	r.OldKey, _ = parseFP(j.OldKey)
	return r
}

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
	a := &auditDoc{Version: formatVersion}
	if err := loadBlob(store.View().State, auditName, a); err != nil {
		return nil, err
	}
	out := make([]Record, len(a.Records))
	for i, j := range a.Records {
		out[i] = j.record()
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
		st := &stateDoc{Version: formatVersion}
		if err := loadBlob(store.View().State, stateName, st); err != nil {
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
// the Manager's clock as the log time.
func (m *Manager) emit(ctx context.Context, d *docs) {
	for _, r := range d.added {
		level := slog.LevelInfo
		if r.Action == ActionOldKeyUsedAfterConfirmation || r.Action == ActionOldCertificateUsedAfterConfirmation {
			level = slog.LevelWarn
		}
		attrs := []any{slog.Uint64("renewal", r.Renewal), slog.String("action", string(r.Action))}
		add := func(key, v string) {
			if v != "" {
				attrs = append(attrs, slog.String(key, v))
			}
		}
		add("actor", r.Actor)
		if r.NewKey != (wssec.Fingerprint{}) {
			add("new_key", r.NewKey.String())
		}
		if r.OldKey != (wssec.Fingerprint{}) {
			add("old_key", r.OldKey.String())
		}
		add("receiver", r.Receiver)
		add("partner", r.Partner)
		add("by", r.By)
		add("reference", r.Reference)
		add("note", r.Note)
		if r.Count > 0 {
			attrs = append(attrs, slog.Uint64("count", r.Count))
		}
		m.log(ctx, r.Time, level, "rollover: "+string(r.Action), attrs...)
	}
	for _, w := range d.warnings {
		m.log(ctx, m.opts.now(), slog.LevelWarn, w.msg, w.attrs...)
	}
}

// log writes one log record stamped with t.
func (m *Manager) log(ctx context.Context, t time.Time, level slog.Level, msg string, attrs ...any) {
	h := m.logger.Handler()
	if ctx == nil {
		ctx = context.Background()
	}
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(t, level, msg, 0)
	r.Add(attrs...)
	_ = h.Handle(ctx, r) // a failing log handler does not undo a committed step
}

// Note appends an [ActionNote] record with note to the audit trail, at
// the Manager's clock's time, and changes nothing else. It returns
// [ErrInvalidArgument] for a note over 1024 bytes or with control
// characters, and the errors of [keystore.Store.Update].
func (m *Manager) Note(ctx context.Context, note string) error {
	if m == nil {
		return errNilStore
	}
	if err := checkText("note", note); err != nil {
		return err
	}
	_, err := m.update(ctx, "Note", nil, func(_ *keystore.Tx, d *docs, now time.Time) error {
		d.record(Record{Time: now, Action: ActionNote, Actor: m.opts.Actor, Note: note})
		return nil
	})
	return err
}
