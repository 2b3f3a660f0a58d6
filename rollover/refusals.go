package rollover

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// DisabledRefusals is the persisted count of messages refused because
// they were encrypted to a key that step 7 disabled: evidence that a
// receiver still uses the key and its removal was early.
type DisabledRefusals struct {
	Count uint64    `json:"count"`
	Last  time.Time `json:"last"`
}

func (b batch) addRefused(fp wssec.Fingerprint, u keyUse) {
	x := b.refused[fp]
	x.n += u.n
	if u.last.After(x.last) {
		x.last = u.last
	}
	b.refused[fp] = x
}

// ObserveRefusal checks err, an error of a [wssec.Decryptor] using the
// store's key ring, with [keystore.Store.CheckRefusal]: if it refused a
// message encrypted to a disabled key, it logs a warning, counts the
// refusal for [Manager.RecordUsage] to write (it appears in
// [Manager.DisabledRefusals], in the audit trail and in keyadmin status)
// and returns the [*keystore.EntryError] ([keystore.ErrKeyDisabled]); otherwise it returns err.
// Restore the key with [Manager.RestoreKey]. It does no I/O and is safe
// for concurrent use.
func (m *Manager) ObserveRefusal(err error) error {
	if m == nil || err == nil {
		return err
	}
	err = m.store.CheckRefusal(err, m.opts.Logger)
	var de *keystore.EntryError
	if !errors.Is(err, keystore.ErrKeyDisabled) || !errors.As(err, &de) {
		return err
	}
	now := m.opts.now()
	m.mu.Lock()
	m.ev.pending.addRefused(de.Fingerprint, keyUse{n: 1, last: now})
	m.mu.Unlock()
	return err
}

// applyRefusals folds the refusals of b into the usage document and the
// audit trail, for keys still in the store.
func applyRefusals(d *docs, b batch, inStore map[string]bool, now time.Time) {
	for fp, u := range b.refused {
		h := procedure.Hex(fp)
		if !inStore[h] {
			continue
		}
		if d.usage.Refused == nil {
			d.usage.Refused = map[string]DisabledRefusals{}
		}
		r := d.usage.Refused[h]
		r.Count += u.n
		if u.last.After(r.Last) {
			r.Last = procedure.NormTime(u.last)
		}
		d.usage.Refused[h] = r
		d.usageChanged = true
		d.record(Record{Time: now, Action: ActionDisabledKeyRefused, OldKey: fp, Count: u.n,
			Note: fmt.Sprintf("%d messages encrypted to the disabled key refused, the last at %s: a receiver still uses it; restore it", u.n, u.last.Format(time.RFC3339))})
	}
	for h := range d.usage.Refused {
		if !inStore[h] {
			delete(d.usage.Refused, h)
			d.usageChanged = true
		}
	}
}

// DisabledRefusals returns the refusals of messages encrypted to disabled
// keys that [Manager.RecordUsage] wrote, by key, for keys still in the
// store. It returns [ErrCorruptState] and the store's read errors.
func (m *Manager) DisabledRefusals() (map[wssec.Fingerprint]DisabledRefusals, error) {
	if m == nil {
		return nil, errNilStore
	}
	u, err := loadUsage(m.store.ReadState)
	if err != nil {
		return nil, err
	}
	out := map[wssec.Fingerprint]DisabledRefusals{}
	for h, r := range u.Refused {
		fp, err := procedure.ParseHex(h)
		if err != nil {
			return nil, err
		}
		out[fp] = r
	}
	return out, nil
}
