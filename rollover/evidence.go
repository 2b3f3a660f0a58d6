package rollover

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// keyUse is what the key ring counted for one key since the last write.
type keyUse struct {
	n    uint64
	last time.Time
}

// batch is usage evidence not yet written to the store.
type batch struct {
	keys map[wssec.Fingerprint]keyUse
	// recv is what [Manager.Observe] attributed to receivers (Use.Obs).
	recv procedure.Uses
	// refused counts refusals for disabled keys ([Manager.ObserveRefusal]).
	refused map[wssec.Fingerprint]keyUse
}

func newBatch() batch {
	return batch{keys: map[wssec.Fingerprint]keyUse{}, recv: procedure.Uses{}, refused: map[wssec.Fingerprint]keyUse{}}
}

func (b batch) empty() bool {
	return len(b.keys) == 0 && len(b.recv) == 0 && len(b.refused) == 0
}

func (b batch) addKey(fp wssec.Fingerprint, u keyUse) {
	x := b.keys[fp]
	x.n += u.n
	if u.last.After(x.last) {
		x.last = u.last
	}
	b.keys[fp] = x
}

func (b batch) merge(o batch) {
	for fp, u := range o.keys {
		b.addKey(fp, u)
	}
	b.recv.Merge(o.recv, 0)
	for fp, u := range o.refused {
		b.addRefused(fp, u)
	}
}

// evidence is a Manager's in-memory usage state, guarded by Manager.mu.
type evidence struct {
	// seen is each ring key's use count at the last collection.
	seen procedure.RingCounter
	// discount counts uses the Manager caused itself (the self-test),
	// which are not evidence of a receiver's traffic.
	discount map[wssec.Fingerprint]uint64
	// pending is evidence collected but not written.
	pending batch
	// lastWrite is when RecordUsage last wrote.
	lastWrite time.Time
	// dueWarned is when the renewal-due warning was last logged.
	dueWarned time.Time
}

func (e *evidence) init() {
	e.seen = procedure.RingCounter{}
	e.discount = map[wssec.Fingerprint]uint64{}
	e.pending = newBatch()
}

// Observe attributes a decrypted response to the receiver that sent it,
// so that the evidence says which receiver still uses the old key and
// which has switched. receiver is the ID given in step 3
// ([Receiver.ID]); the application knows it from the endpoint it called.
// Observe only counts, in memory; [Manager.RecordUsage] writes the
// counts. Without Observe the evidence is ring-wide: the key ring counts
// every decryption by key, but not by receiver.
//
// Observe ignores a nil result, an empty receiver, and receivers beyond
// 256 distinct names between two writes. It does not keep res, uses the
// Manager's clock, and is safe for concurrent use; it does no I/O.
func (m *Manager) Observe(receiver string, res *wssec.Result) {
	if m == nil || res == nil || receiver == "" || len(receiver) > procedure.MaxIDLen {
		return
	}
	now := m.opts.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range res.KeysUsed {
		if c != nil && !m.ev.pending.recv.Add(receiver, wssec.FingerprintOf(c), procedure.Use{Obs: 1, First: now, Last: now}, 0) {
			return
		}
	}
}

// RecordUsage writes the usage evidence collected since its last write
// to the store, if there is any and at least [Options.UsageInterval] has
// passed since that write; it reports whether it wrote. The evidence is
// which key of the store's key ring decrypted responses and when (from
// [wssec.KeyRing.Snapshot]), and what [Manager.Observe] attributed to
// receivers. Written evidence survives restarts:
// [ReceiversSwitched.RemoveOldKey] refuses while the old key decrypted a
// response less than the guaranteed delivery time ago. (The partners'
// trust rings have their own RecordUsage, in package rollover/signer.)
//
// RecordUsage also appends to the audit trail the first response
// decrypted with the new key after step 3, and counts responses the old
// key decrypted after a confirmation, logging a warning each time (one
// audit record per receiver and day). Call it from the application, after
// decryptions or on a timer the application owns; the package starts no
// goroutines. It logs that a renewal is due at most once a day.
//
// Processes that follow the store ([keystore.Follow]) write their own
// usage records, which RemoveOldKey reads as well, so they need not call
// RecordUsage; it remains for a Manager's own ring and for what Observe
// attributes to receivers.
//
// RecordUsage returns the errors of [keystore.Store.Update] and
// [ErrCorruptState]; evidence that could not be written is kept for the
// next call. It uses the Manager's clock and is safe for concurrent use.
func (m *Manager) RecordUsage(ctx context.Context) (bool, error) {
	if m == nil {
		return false, errNilStore
	}
	if ctx == nil {
		return false, fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	now := m.opts.now()
	m.mu.Lock()
	wait := !m.ev.lastWrite.IsZero() && now.Before(m.ev.lastWrite.Add(m.opts.usageInterval()))
	m.mu.Unlock()
	if wait {
		return false, nil
	}
	m.checkDue(ctx)
	b := m.takeBatch()
	if b.empty() {
		return false, nil
	}
	if _, err := m.commit(ctx, "RecordUsage", nil, b, nil); err != nil {
		return false, err
	}
	m.mu.Lock()
	m.ev.lastWrite = now
	m.mu.Unlock()
	return true, nil
}

// checkDue logs that a renewal is due, if it is.
func (m *Manager) checkDue(ctx context.Context) {
	st, err := loadState(m.store.ReadState)
	if err != nil {
		return
	}
	if r := m.stageOf(st).Report(); r.RenewalDue {
		m.warnDue(ctx, r)
	}
}

// takeBatch returns the evidence not yet written: what Observe collected
// and the key ring's counts since the last collection, less the uses the
// Manager caused itself.
func (m *Manager) takeBatch() batch {
	snap := m.ringSnapshot()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.ev.pending
	m.ev.pending = newBatch()
	delta := m.ev.seen.Delta(snap)
	for _, e := range snap {
		fp, n := e.Fingerprint, delta[e.Fingerprint]
		if d := min(m.ev.discount[fp], n); d > 0 {
			n -= d
			m.ev.discount[fp] -= d
		}
		if n > 0 {
			b.addKey(fp, keyUse{n: n, last: procedure.NormTime(e.LastUsed)})
		}
	}
	for fp := range m.ev.discount {
		if _, ok := m.ev.seen[fp]; !ok {
			delete(m.ev.discount, fp)
		}
	}
	return b
}

// restoreBatch keeps evidence that could not be written for the next
// write.
func (m *Manager) restoreBatch(b batch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ev.pending.merge(b)
}

// discountUses notes n uses of fp the Manager causes itself; a negative
// n takes back uses noted before that did not happen.
func (m *Manager) discountUses(fp wssec.Fingerprint, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch d := m.ev.discount[fp]; {
	case n >= 0:
		m.ev.discount[fp] = d + uint64(n)
	case uint64(-n) >= d:
		delete(m.ev.discount, fp)
	default:
		m.ev.discount[fp] = d - uint64(-n)
	}
}

// lastUsedView returns when each key last decrypted a response: the
// persisted evidence, this process's key ring and evidence not yet
// written.
func (m *Manager) lastUsedView() map[wssec.Fingerprint]time.Time {
	out := map[wssec.Fingerprint]time.Time{}
	note := func(fp wssec.Fingerprint, t time.Time) {
		if t = procedure.NormTime(t); t.After(out[fp]) {
			out[fp] = t
		}
	}
	if u, err := loadUsage(m.store.ReadState); err == nil {
		for h, t := range u.LastUsed {
			fp, _ := procedure.ParseHex(h)
			note(fp, t)
		}
	}
	for _, e := range m.ringSnapshot() {
		note(e.Fingerprint, e.LastUsed)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for fp, u := range m.ev.pending.keys {
		note(fp, u.last)
	}
	return out
}

// applyEvidence folds b into the docs of a transaction at time now:
// last-used times of the store's keys, then the renewal's evidence.
func (m *Manager) applyEvidence(d *docs, b batch, entries []keystore.Entry, now time.Time) {
	inStore := map[string]bool{}
	for _, e := range entries {
		inStore[procedure.Hex(e.Fingerprint)] = true
	}
	if d.usage.LastUsed == nil {
		d.usage.LastUsed = map[string]time.Time{}
	}
	noteUse := func(fp wssec.Fingerprint, t time.Time) {
		h := procedure.Hex(fp)
		if inStore[h] && t.After(d.usage.LastUsed[h]) {
			d.usage.LastUsed[h] = t
			d.usageChanged = true
		}
	}
	for fp, u := range b.keys {
		noteUse(fp, u.last)
	}
	for _, obs := range b.recv {
		for fp, u := range obs {
			noteUse(fp, u.Last)
		}
	}
	for h := range d.usage.LastUsed {
		if !inStore[h] {
			delete(d.usage.LastUsed, h)
			d.usageChanged = true
		}
	}
	applyRefusals(d, b, inStore, now)
	if d.usageChanged {
		d.usage.Recorded = now
	}
	if posOf(d.state).PastReturn {
		applyRenewalEvidence(d, b, now)
	}
}

// applyRenewalEvidence records the first use of the new key and counts
// uses of the old key after confirmations.
func applyRenewalEvidence(d *docs, b batch, now time.Time) {
	st := d.state
	newFP, oldFP := st.New.fingerprint(), st.Old.fingerprint()

	var attributedOld uint64
	for i := range st.Receivers {
		r := &st.Receivers[i]
		obs := b.recv[r.ID]
		if o := obs[newFP]; o.N() > 0 && !o.Last.Before(r.Provided) && r.FirstNewKeyUse.IsZero() {
			at := o.First
			if at.Before(r.Provided) {
				at = o.Last
			}
			d.changeState()
			r.FirstNewKeyUse = at
			if st.FirstNewKeyUse.IsZero() || at.Before(st.FirstNewKeyUse) {
				st.FirstNewKeyUse = at
			}
			d.record(Record{Time: now, Action: ActionNewKeyFirstUse, Receiver: r.ID, Count: o.N(),
				Note: "first response from the receiver decrypted with the new key at " + at.Format(time.RFC3339)})
		}
		o := obs[oldFP]
		attributedOld += o.N()
		if o.N() == 0 || r.Confirmed.IsZero() || !o.Last.After(r.Confirmed) {
			continue
		}
		d.changeState()
		r.OldUses += o.N()
		r.OldUsesPending += o.N()
		st.OldUses += o.N()
		note := fmt.Sprintf("receiver confirmed the switch at %s, but the old key decrypted its responses until %s",
			r.Confirmed.Format(time.RFC3339), o.Last.Format(time.RFC3339))
		if auditUse(d, &r.OldUsesPending, &r.OldUseAudited, r.ID, note, now) {
			continue
		}
		d.warn("rollover: old key used after confirmation", slog.Uint64("renewal", st.Renewal),
			slog.String("receiver", r.ID), slog.Uint64("count", o.N()), slog.String("note", note))
	}

	// The first response with the new key, if no receiver's observation
	// recorded it above.
	if u := b.keys[newFP]; u.n > 0 && !u.last.Before(st.Provided) && st.FirstNewKeyUse.IsZero() {
		d.changeState().FirstNewKeyUse = u.last
		d.record(Record{Time: now, Action: ActionNewKeyFirstUse, Count: u.n,
			Note: "first response decrypted with the new key by " + u.last.Format(time.RFC3339) + " (not attributed to a receiver)"})
	}

	// Responses nobody attributed, once every receiver has confirmed.
	if st.Stage != StageReceiversSwitched {
		return
	}
	u := b.keys[oldFP]
	if u.n <= attributedOld || !u.last.After(st.Switched) {
		return
	}
	n := u.n - attributedOld
	d.changeState()
	st.OldUses += n
	st.OldUsesPending += n
	note := fmt.Sprintf("every receiver confirmed the switch by %s, but the old key decrypted responses until %s (not attributed to a receiver)",
		st.Switched.Format(time.RFC3339), u.last.Format(time.RFC3339))
	if !auditUse(d, &st.OldUsesPending, &st.OldUseAudited, "", note, now) {
		d.warn("rollover: old key used after confirmation", slog.Uint64("renewal", st.Renewal),
			slog.Uint64("count", n), slog.String("note", note))
	}
}

// auditUse appends an audit record of the old key's uses counted in
// *pending, unless one was appended less than a day ago; it reports
// whether it did.
func auditUse(d *docs, pending *uint64, audited *time.Time, receiver, note string, now time.Time) bool {
	if !procedure.DueAudit(*pending, *audited, now) {
		return false
	}
	d.record(Record{Time: now, Action: ActionOldKeyUsedAfterConfirmation, Receiver: receiver, Count: *pending, Note: note})
	*pending, *audited = 0, now
	return true
}

// flushUseAudit appends audit records for every use of the old key
// counted but not yet audited, as the renewal ends.
func flushUseAudit(d *docs, now time.Time) {
	st := d.state
	for i := range st.Receivers {
		r := &st.Receivers[i]
		if r.OldUsesPending > 0 {
			r.OldUseAudited = time.Time{}
			auditUse(d, &r.OldUsesPending, &r.OldUseAudited, r.ID, "further responses decrypted with the old key after the receiver's confirmation", now)
		}
	}
	if st.OldUsesPending > 0 {
		st.OldUseAudited = time.Time{}
		auditUse(d, &st.OldUsesPending, &st.OldUseAudited, "", "further responses decrypted with the old key after every receiver's confirmation", now)
	}
}
