package keystore

import (
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// This file holds the transaction's changes to entries: adding a key,
// its certificate, rotation, retention and removal.

// Add stores c under alias as a pending entry, created now by the store's
// clock, with a copy of labels. A pending key is not in the key ring; see
// [Tx.Rotate] and [Tx.Retain]. The key is encrypted into a PKCS#12 file
// with the store's password and the store's Rand.
//
// Add returns [ErrInvalidName], an [*EntryError] with [ErrDuplicateAlias]
// or [ErrDuplicateKey] (naming the entry that holds the certificate), a
// [*Error] with [ErrMalformed], [ErrUnsupportedKey] or
// [ErrKeyMismatch] if c is not usable, an [*EntryError] with
// [ErrUnsupportedKey] for an RSA key under 2048 bits without
// [Options.AllowWeakRetainedKey], [ErrUnsupportedKey] if the key
// cannot be written to a file, a [*Error] with [ErrTokenUnavailable] for
// a token key in a store without [Options.Tokens], and [ErrTxDone]. It
// does not modify c.
func (tx *Tx) Add(alias string, c *Credential, labels map[string]string) error {
	if err := tx.check(); err != nil {
		return err
	}
	if err := checkAlias(alias); err != nil {
		return err
	}
	if tx.m.find(alias) >= 0 {
		return &EntryError{Alias: alias, Err: ErrDuplicateAlias}
	}
	if err := c.check("credential", weakRSABits); err != nil {
		return err
	}
	if bits := rsaBits(c.Certificate); bits < minRSABits && !tx.s.opts.AllowWeakRetainedKey {
		return weakKeyError(alias, bits, false, "Add")
	}
	if other, dup := tx.duplicateOf(c.Certificate, ""); dup {
		return &EntryError{Alias: other, Err: ErrDuplicateKey}
	}
	cc := &Credential{Key: c.Key, Certificate: c.Certificate, Chain: slices.Clone(c.Chain)}
	var loc string
	var err error
	if k, ok := c.Key.(*tokenKey); ok {
		if tx.s.opts.Tokens == nil {
			// The store could not open the entry again.
			return noModule(k.uri)
		}
		loc, err = tx.tokenLocation(k, cc)
	} else {
		loc, err = tx.writeKey(alias, cc)
	}
	if err != nil {
		return err
	}
	tx.m.entries = append(tx.m.entries, Entry{
		Alias:       alias,
		Status:      StatusPending,
		Created:     tx.now,
		Certificate: cc.Certificate,
		Chain:       cc.Chain,
		Fingerprint: wssec.FingerprintOf(cc.Certificate),
		Labels:      cloneLabels(labels),
		Location:    loc,
	})
	tx.dirty = true
	return nil
}

// writeKey encodes c for alias and returns the location it will have.
func (tx *Tx) writeKey(alias string, c *Credential) (string, error) {
	data, err := encodePKCS12(c, tx.s.password, tx.s.opts.rand())
	if err != nil {
		return "", err
	}
	name := keyBlobName(alias, tx.base.m.generation+1)
	loc := locationBlob + name
	tx.blobs[name] = data
	tx.keys[loc] = c
	return loc, nil
}

// SetCertificate replaces the certificate of the pending entry alias, such
// as the self-signed one of a generated key, with cert (a CA's answer to
// the request from [Store.CertificateRequest]) and its chain. Both are
// kept, not copied; they must not be modified afterwards.
//
// SetCertificate returns an [*EntryError] with [ErrUnknownAlias] or
// [ErrDuplicateKey], an [*EntryError] for [ErrStatus] if the entry is not pending, a
// [*Error] with [ErrKeyMismatch] if cert is not for the entry's key
// (or [ErrMalformed], [ErrUnsupportedKey]), and [ErrTxDone].
func (tx *Tx) SetCertificate(alias string, cert *x509.Certificate, chain []*x509.Certificate) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status != StatusPending {
		return statusError(alias, e.Status, "SetCertificate")
	}
	c := &Credential{Key: tx.keys[e.Location].Key, Certificate: cert, Chain: slices.Clone(chain)}
	if err := c.check("certificate", minRSABits); err != nil {
		return err
	}
	if other, dup := tx.duplicateOf(cert, alias); dup {
		return &EntryError{Alias: other, Err: ErrDuplicateKey}
	}
	loc, err := tx.rekey(alias, e.Location, c)
	if err != nil {
		return err
	}
	e.Certificate, e.Chain, e.Fingerprint, e.Location = c.Certificate, c.Chain, wssec.FingerprintOf(c.Certificate), loc
	tx.dirty = true
	return nil
}

// Rotate makes the pending or retained entry alias the current key. The
// previous current key becomes retained with no expiry, since receivers
// may still encrypt to it, and counts as provided from then on (see
// [Entry.Provided]); so does the first key that becomes current in a
// store without one, since receivers are given it. Rotating to a retained
// key rolls a renewal back. A key of under 2048 bits becomes current only
// with [Options.AllowWeakRetainedKey], only while the store has no
// current key, and only from pending: it is the key in use, imported to
// be renewed away from. Rotate returns an [*EntryError] with
// [ErrUnknownAlias], an [*EntryError] for [ErrStatus] if alias is already current or
// disabled (restore it first), an [*EntryError] with [ErrUnsupportedKey]
// for a weak key otherwise, and [ErrTxDone].
func (tx *Tx) Rotate(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status == StatusCurrent || e.Status == StatusDisabled {
		return statusError(alias, e.Status, "Rotate")
	}
	if bits := rsaBits(e.Certificate); bits < minRSABits {
		// The one way a weak key becomes current: as the key in use,
		// imported into a store without a current key so that a renewal
		// can move away from it.
		_, had := tx.base.m.current()
		if _, has := tx.m.current(); had || has || e.Status != StatusPending || !tx.s.opts.AllowWeakRetainedKey {
			return weakKeyError(alias, bits, tx.s.opts.AllowWeakRetainedKey, "Rotate")
		}
	}
	hadCurrent := false
	for j := range tx.m.entries {
		if c := &tx.m.entries[j]; c.Status == StatusCurrent {
			hadCurrent = true
			c.Status, c.Expires = StatusRetained, time.Time{}
			if c.Provided.IsZero() {
				c.Provided = tx.now
			}
		}
	}
	e.Status, e.Expires = StatusCurrent, time.Time{}
	if !hadCurrent && e.Provided.IsZero() {
		e.Provided = tx.now
	}
	tx.dirty = true
	return nil
}

// MinRetention is the shortest retention the store allows for a key that
// was handed to a receiver: the expiry it is given when it has none is at
// least this long after the transaction's time. The renewal procedure
// keeps keys longer (max(guaranteed delivery time, 90 days) after the
// last confirmation); this is the store's own floor under it, which no
// caller can lower.
const MinRetention = 90 * 24 * time.Hour

// Retain keeps the entry alias in the key ring as a retained key that may
// be removed from until on; a zero until means no expiry (a receiver may
// still use the key). It takes a pending entry into the ring (the store
// must have a current key when the transaction commits), sets the expiry
// of a retained one, and restores a disabled one ([Tx.Disable]) within its
// restore window; pass [Entry.Expires] to keep the expiry it had.
//
// An expiry only ever moves later: until may not be before the entry's
// expiry or its [Entry.RetainUntil], and a key that was handed to a
// receiver ([Entry.Provided]) that has no expiry may be given one no
// sooner than [MinRetention] after the transaction's time. Otherwise
// Retain returns an [*EntryError] for [ErrRetentionFloor] naming the
// earliest expiry allowed, and changes nothing. It also returns an
// [*EntryError] with [ErrUnknownAlias] (a destroyed entry is unknown), an
// [*EntryError] for [ErrStatus] for the current entry, and [ErrTxDone].
func (tx *Tx) Retain(alias string, until time.Time) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status == StatusCurrent {
		return statusError(alias, e.Status, "Retain")
	}
	until = normTime(until)
	if !until.IsZero() {
		earliest := later(e.Expires, e.RetainUntil)
		if e.Expires.IsZero() && e.provided() {
			earliest = later(earliest, tx.now.Add(MinRetention))
		}
		if until.Before(earliest) {
			return &EntryError{Alias: alias, Expires: until, Earliest: earliest, Err: ErrRetentionFloor}
		}
	}
	e.Status, e.DisabledAt, e.DestroyAfter = StatusRetained, time.Time{}, time.Time{}
	e.Expires = until
	e.RetainUntil = later(e.RetainUntil, until)
	tx.dirty = true
	return nil
}

// MarkProvided records that the certificate of the current or retained
// entry alias was handed to a receiver, at the transaction's time, unless
// it was recorded before. From then on the store refuses to cancel the
// key, to shorten its retention, and to remove it before its expiry.
// Call it before the certificate leaves the process: a crash in between
// then errs on the safe side. MarkProvided returns an [*EntryError] with
// [ErrUnknownAlias], an [*EntryError] for [ErrStatus] for a pending entry (its
// certificate must not be handed out), and [ErrTxDone].
func (tx *Tx) MarkProvided(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if !e.Status.inRing() {
		return statusError(alias, e.Status, "MarkProvided")
	}
	if e.Provided.IsZero() {
		e.Provided = tx.now
		tx.dirty = true
	}
	return nil
}

// Remove deletes the entry alias and, after the commit, its key file,
// when the store's rules let the key go:
//
//   - A pending entry may always be removed.
//   - The current entry, and a pending one, only if its certificate was
//     never handed to a receiver: a renewal abandoned before it was
//     provided. Otherwise Remove returns an [*EntryError] with
//     [ErrProvided]: a receiver may encrypt to it. Removing the current
//     key leaves the store without one; the transaction must make another
//     key current ([Tx.Rotate]) or the commit fails with [ErrNoCurrentKey].
//     The store does not know whether a key decrypted responses (its key
//     ring also decrypts self-tests); the rollover package checks its
//     usage evidence before it removes a key it abandons.
//   - A retained entry only once it has an expiry that is not after the
//     transaction's time; otherwise Remove returns a [*wssec.KeyError] for
//     [wssec.ErrRetentionNotElapsed] saying when, the same refusal as
//     [wssec.KeyRing.Remove]. This holds for a key never handed out too
//     (such as an imported predecessor): it is in the ring because it may
//     still be used.
//   - A disabled entry ([Tx.Disable]) once its restore window has passed,
//     the same refusal before.
//
// Remove also returns an [*EntryError] with [ErrUnknownAlias], and
// [ErrTxDone].
func (tx *Tx) Remove(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := tx.m.entries[i]
	switch e.Status {
	case StatusPending, StatusCurrent:
		if e.provided() {
			return &EntryError{Alias: alias, Err: ErrProvided, Cause: fmt.Errorf("provided at %s", e.Provided.Format(time.RFC3339))}
		}
	case StatusRetained:
		allowed := later(e.Expires, e.RetainUntil)
		if e.Expires.IsZero() || tx.now.Before(allowed) {
			if e.Expires.IsZero() {
				allowed = time.Time{}
			}
			return &wssec.KeyError{Fingerprint: e.Fingerprint, AllowedAt: allowed, Err: wssec.ErrRetentionNotElapsed}
		}
	case StatusDisabled:
		if allowed := destroyableAt(e); tx.now.Before(allowed) {
			return &wssec.KeyError{Fingerprint: e.Fingerprint, AllowedAt: allowed, Err: wssec.ErrRetentionNotElapsed}
		}
	}
	tx.m.entries = slices.Delete(tx.m.entries, i, i+1)
	tx.dirty = true
	return nil
}

// SetLabels replaces the labels of the entry alias with a copy of labels.
// It returns an [*EntryError] with [ErrUnknownAlias], and [ErrTxDone].
func (tx *Tx) SetLabels(alias string, labels map[string]string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	tx.m.entries[i].Labels = cloneLabels(labels)
	tx.dirty = true
	return nil
}

func cloneLabels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	return maps.Clone(l)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// normTime drops the monotonic reading and the location, so that times
// compare equal before and after a round trip through the manifest.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}
