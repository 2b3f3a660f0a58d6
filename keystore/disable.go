package keystore

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Soft removal: a retained key past its retention is first disabled —
// out of the key ring, so a message encrypted to it is refused — and
// destroyed only when its restore window has passed. Until then
// [Tx.Retain] puts it back.

// DefaultRestoreWindow is how long a disabled key can be restored before
// the store destroys it, unless the caller chooses otherwise.
const DefaultRestoreWindow = 7 * 24 * time.Hour

// checkDisabled checks the disable times of e: both set, in order, for a
// disabled entry; neither for any other.
func checkDisabled(e Entry) error {
	if e.Status != StatusDisabled {
		if !e.DisabledAt.IsZero() || !e.DestroyAfter.IsZero() {
			return fmt.Errorf("%s entry %s has disable times", e.Status, quoteName(e.Alias))
		}
		return nil
	}
	if e.DisabledAt.IsZero() || e.DestroyAfter.Before(e.DisabledAt) {
		return fmt.Errorf("disabled entry %s has no valid disable times", quoteName(e.Alias))
	}
	if e.Expires.IsZero() {
		return fmt.Errorf("disabled entry %s has no expiry", quoteName(e.Alias))
	}
	return nil
}

// destroyableAt returns when the store may destroy the disabled entry e:
// the end of its restore window, never before its retention ended.
func destroyableAt(e Entry) time.Time {
	return later(e.DestroyAfter, later(e.Expires, e.RetainUntil))
}

// Disable takes the retained entry alias out of the key ring for a
// restore window of window (0: none; the next change destroys it),
// starting at the transaction's time. A message encrypted to the key is
// refused from then on; [Store.CheckRefusal] recognises it. The store
// destroys the entry and its key file in the first [Store.Update] at or
// after the end of the window, never before the key's retention ended;
// until then [Tx.Retain] puts it back.
//
// Like [Tx.Remove], Disable is allowed only once the entry has an expiry
// that is not after the transaction's time; otherwise it returns a
// [*wssec.KeyError] for [wssec.ErrRetentionNotElapsed] ([wssec.ErrRetentionNotElapsed]). It returns a
// [*EntryError] for [ErrStatus] unless the entry is retained, [ErrInvalidOptions] for a
// negative window, an [*EntryError] with [ErrUnknownAlias], and
// [ErrTxDone].
func (tx *Tx) Disable(alias string, window time.Duration) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	if window < 0 {
		return fmt.Errorf("%w: negative restore window %v", ErrInvalidOptions, window)
	}
	e := &tx.m.entries[i]
	if e.Status != StatusRetained {
		return statusError(alias, e.Status, "Disable")
	}
	allowed := later(e.Expires, e.RetainUntil)
	if e.Expires.IsZero() || tx.now.Before(allowed) {
		if e.Expires.IsZero() {
			allowed = time.Time{}
		}
		return &wssec.KeyError{Fingerprint: e.Fingerprint, AllowedAt: allowed, Err: wssec.ErrRetentionNotElapsed}
	}
	e.Status, e.DisabledAt, e.DestroyAfter = StatusDisabled, tx.now, tx.now.Add(window)
	tx.dirty = true
	return nil
}

// destroyedEntries returns the disabled entries the transaction destroys because
// their restore window has passed. The store records each destruction
// itself, in the same commit ([Tx.TakeDestructions]).
func (tx *Tx) destroyedEntries() []Entry {
	if tx == nil {
		return nil
	}
	return slices.Clone(tx.destroyed)
}

// destroyExpired removes the disabled entries whose window has passed
// at the transaction's time, and records their destruction in the
// transaction. Called when the transaction begins.
func (tx *Tx) destroyExpired() error {
	var gone []Entry
	tx.m.entries = slices.DeleteFunc(tx.m.entries, func(e Entry) bool {
		if e.Status != StatusDisabled || tx.now.Before(destroyableAt(e)) {
			return false
		}
		gone = append(gone, e.clone())
		return true
	})
	if len(gone) == 0 {
		return nil
	}
	doc, err := readDestructions(tx.m)
	if err != nil {
		return err
	}
	for _, e := range gone {
		doc.Records = append(doc.Records, destructionJSON{Time: tx.now, Alias: e.Alias,
			SHA256: hex.EncodeToString(e.Fingerprint[:]), DisabledAt: e.DisabledAt, DestroyAfter: e.DestroyAfter})
	}
	if n := len(doc.Records) - maxDestructions; n > 0 {
		doc.Records = slices.Delete(doc.Records, 0, n)
		doc.Dropped += uint64(n)
	}
	data, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("keystore: encode %s: %w", destroyedName, err)
	}
	tx.m.state[destroyedName] = data
	tx.destroyed = append(tx.destroyed, gone...)
	tx.dirty = true
	return nil
}

// destroyDue reports whether the store holds a disabled entry whose
// restore window has passed at t: an [Store.Update], even with a function
// that changes nothing, would destroy it.
func (s *Store) destroyDue(t time.Time) bool {
	if s.opened() != nil {
		return false
	}
	for _, e := range s.state.Load().m.entries {
		if e.Status == StatusDisabled && !t.Before(destroyableAt(e)) {
			return true
		}
	}
	return false
}

// destroyDisabled destroys, in one [Store.Update] that changes nothing
// else, every disabled entry whose restore window has passed, records each
// destruction in the same commit ([Store.Destructions]), and returns them.
// It returns nothing and writes nothing if there is none, and the errors
// of Update. Any caller's Update does the same.
func (s *Store) destroyDisabled(ctx context.Context) ([]Entry, error) {
	var out []Entry
	err := s.Update(ctx, func(tx *Tx) error {
		out = tx.destroyedEntries()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckRefusal tells whether err, an error of a [wssec.Decryptor] using
// the store's key ring, refused a message encrypted to a disabled key of
// the store. It decides from the key references the refusal quotes and
// the disabled entries' certificates, without a private-key operation.
// If so, it counts the refusal ([Store.DisabledRefusals]), logs it as a
// warning to logger (if not nil) and returns an [*EntryError] with
// [ErrKeyDisabled], the entry's fingerprint and times, and err as its
// Cause; otherwise it returns err unchanged.
func (s *Store) CheckRefusal(err error, logger *slog.Logger) error {
	var nm *wssec.KeyError
	if err == nil || s.opened() != nil || !errors.As(err, &nm) || nm.Err != wssec.ErrNoMatchingKey {
		return err
	}
	for _, e := range s.state.Load().m.entries {
		if e.Status != StatusDisabled || !namesCert(nm.References, e) {
			continue
		}
		s.refusals.add(e.Fingerprint)
		if logger != nil {
			logger.Warn("keystore: message encrypted to a disabled key refused; its removal may be early",
				"alias", e.Alias, "fingerprint", e.Fingerprint.String(),
				"disabledAt", e.DisabledAt, "destroyAfter", e.DestroyAfter)
		}
		return &EntryError{Alias: e.Alias, Fingerprint: e.Fingerprint, DisabledAt: e.DisabledAt, DestroyAfter: e.DestroyAfter, Err: ErrKeyDisabled, Cause: err}
	}
	return err
}

// DisabledRefusals returns how many refusals [Store.CheckRefusal]
// recognised as messages encrypted to a disabled key since s was opened,
// by the key's fingerprint, in a new map. A key's count only grows, also
// after the key was restored or destroyed, so it suits a metric counter.
// It is safe for concurrent use.
func (s *Store) DisabledRefusals() map[wssec.Fingerprint]uint64 {
	if s == nil {
		return map[wssec.Fingerprint]uint64{}
	}
	return s.refusals.snapshot()
}

// refusalCounts counts refusals by key; the zero value is ready to use.
type refusalCounts struct {
	mu sync.Mutex
	n  map[wssec.Fingerprint]uint64
}

func (c *refusalCounts) add(fp wssec.Fingerprint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[wssec.Fingerprint]uint64{}
	}
	c.n[fp]++
}

func (c *refusalCounts) snapshot() map[wssec.Fingerprint]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[wssec.Fingerprint]uint64, len(c.n))
	maps.Copy(out, c.n)
	return out
}

// namesCert reports whether a key reference names e's certificate.
func namesCert(refs []wssec.KeyReference, e Entry) bool {
	c := e.Certificate
	s1 := sha1.Sum(c.Raw)
	s256 := sha256.Sum256(c.Raw)
	s512 := sha512.Sum512(c.Raw)
	for _, r := range refs {
		switch r.Kind {
		case "X509Certificate":
			if r.Fingerprint == e.Fingerprint {
				return true
			}
		case "ThumbprintSHA1":
			if r.Value == hex.EncodeToString(s1[:]) {
				return true
			}
		case "X509SKI":
			if len(c.SubjectKeyId) > 0 && r.Value == hex.EncodeToString(c.SubjectKeyId) {
				return true
			}
		case "X509Digest":
			for _, d := range []string{hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:]), hex.EncodeToString(s512[:])} {
				if strings.HasSuffix(r.Value, " "+d) {
					return true
				}
			}
		case "X509IssuerSerial":
			// The issuer is quoted as written; the serial decides, the
			// issuer's text only has to match loosely.
			if strings.HasSuffix(r.Value, ", serial "+c.SerialNumber.String()) &&
				looseDN(strings.TrimSuffix(r.Value, ", serial "+c.SerialNumber.String())) == looseDN(c.Issuer.String()) {
				return true
			}
		}
	}
	return false
}

// looseDN drops spaces and case from a distinguished name's text.
func looseDN(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r == ' ' {
			return -1
		}
		return r
	}, s))
}

// destroyDisabled destroys, on a follower's tick, the disabled keys whose
// window has passed, and logs each.
func (f *Follower) destroyDisabled(ctx context.Context) {
	if !f.s.destroyDue(f.s.opts.now()) {
		return
	}
	gone, err := f.s.destroyDisabled(ctx)
	if err != nil {
		f.report(ctx, "keystore: destroying disabled keys failed", err)
		return
	}
	for _, e := range gone {
		f.opts.logger().LogAttrs(ctx, slog.LevelInfo, "keystore: disabled key destroyed after its restore window",
			slog.String("holder", f.id), slog.String("alias", e.Alias), slog.String("fingerprint", e.Fingerprint.String()),
			slog.Time("disabledAt", e.DisabledAt), slog.Time("destroyAfter", e.DestroyAfter))
	}
}
