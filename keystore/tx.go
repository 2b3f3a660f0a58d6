package keystore

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Tx is one change to a store, made inside [Store.Update]. Its methods
// check each step; the rules that span entries (at most one current key;
// retained keys only beside a current key) are checked when the function
// passed to Update returns. Nothing is written before then, and nothing
// at all if the function returns an error.
//
// A Tx is not safe for concurrent use and must not be used after the
// function returns ([ErrTxDone]).
type Tx struct {
	s     *Store
	base  *storeState
	m     *manifest
	keys  map[string]*Credential // by location
	blobs map[string][]byte      // new key blobs by name
	dirty bool
	done  bool
}

// Update runs fn with a transaction on the store's latest state and
// commits the changes fn made, atomically and durably: new key files
// first, then the manifest, then the removal of files no longer named.
// A crash at any point leaves the old or the new state, and the next
// Update cleans up what the crash left. fn runs with the backend's
// writer lock held, so it should be quick (generate keys before).
//
// Update first reads the manifest and any new keys, so it sees changes
// made by other Stores, and afterwards holds the committed state and key
// ring (see [Store.KeyRing]). If fn returns an error, nothing is written
// and Update returns that error. Update returns ctx's error if ctx ends
// before the lock is taken or before the commit starts; the errors of
// [Store.Reload] (it refuses to write over a manifest older than the one
// it holds); [ErrNoCurrentKey] if the change would leave retained keys
// without a current key; [ErrInvalidOptions] if fn or ctx is nil; and
// I/O errors of the backend. It is safe for concurrent use.
//
// On a [VersionedBackend], Update takes no lock: it commits conditioned
// on the manifest version it read and, when another writer committed
// first, reads again and runs fn again, at most five times, returning an
// error wrapping [ErrConflict] after that. fn must therefore have no
// effects outside tx.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	if err := s.opened(); err != nil {
		return err
	}
	if err := checkContext(ctx); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: nil function", ErrInvalidOptions)
	}
	if vb, ok := s.b.(VersionedBackend); ok {
		return s.updateVersioned(ctx, vb, fn)
	}
	unlock, err := s.b.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	before := s.state.Load().m.generation
	base, err := s.read(ctx)
	if err != nil {
		return err
	}
	if err := s.checkNotOlder(base, before); err != nil {
		return err
	}
	if err := s.publish(base); err != nil {
		return err
	}
	tx := &Tx{s: s, base: base, m: base.m.clone(), keys: maps.Clone(base.keys), blobs: map[string][]byte{}}
	err = fn(tx)
	tx.done = true
	if err != nil {
		return err
	}
	if !tx.dirty {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return tx.commit(ctx)
}

// commit writes the transaction: the new key blobs, then the manifest;
// once the manifest is durable, it removes blobs no manifest names.
func (tx *Tx) commit(ctx context.Context) error {
	s, m := tx.s, tx.m
	if err := checkEntries(m.entries); err != nil {
		return fmt.Errorf("keystore: update refused: %w", err)
	}
	m.generation = tx.base.m.generation + 1
	m.updated = normTime(s.opts.now())
	data, err := marshalManifest(m)
	if err != nil {
		return err
	}
	next := &storeState{m: m, keys: make(map[string]*Credential, len(m.entries)), raw: data}
	named := map[string]bool{}
	for _, e := range m.entries {
		next.keys[e.Location] = tx.keys[e.Location]
		name, _ := blobOfLocation(e.Location)
		named[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(tx.blobs)) {
		if !named[name] {
			continue // added and removed again in this transaction
		}
		if err := s.b.Write(ctx, name, tx.blobs[name]); err != nil {
			return err
		}
	}
	if err := s.b.Write(ctx, manifestName, data); err != nil {
		return err
	}
	// Committed. Errors from here on concern this process's view or
	// left-over files, not the stored state.
	pubErr := s.publish(next)
	if names, err := s.b.List(ctx); err == nil {
		for _, n := range names {
			if validBlobName(n) && !named[n] {
				// A failure leaves a file the next Update removes.
				_ = s.b.Remove(ctx, n)
			}
		}
	}
	return pubErr
}

func (tx *Tx) check() error {
	if tx == nil || tx.done {
		return ErrTxDone
	}
	return nil
}

// find returns the index of alias's entry.
func (tx *Tx) find(alias string) (int, error) {
	if err := tx.check(); err != nil {
		return -1, err
	}
	i := tx.m.find(alias)
	if i < 0 {
		return -1, &EntryError{Alias: alias, Err: ErrUnknownAlias}
	}
	return i, nil
}

// duplicateOf returns the alias of another entry with the certificate.
func (tx *Tx) duplicateOf(cert *x509.Certificate, except string) (string, bool) {
	fp := wssec.FingerprintOf(cert)
	for _, e := range tx.m.entries {
		if e.Fingerprint == fp && e.Alias != except {
			return e.Alias, true
		}
	}
	return "", false
}

// Generation returns the generation the transaction builds on; the
// commit writes the next one.
func (tx *Tx) Generation() uint64 {
	if tx == nil {
		return 0
	}
	return tx.base.m.generation
}

// Entries returns the entries as the transaction has changed them so far.
// The slice and maps are fresh.
func (tx *Tx) Entries() []Entry {
	if tx == nil {
		return nil
	}
	return entriesOf(tx.m)
}

// Entry returns the entry with the alias as the transaction has changed
// it so far, or an [*EntryError] with [ErrUnknownAlias]; [ErrTxDone].
func (tx *Tx) Entry(alias string) (Entry, error) {
	i, err := tx.find(alias)
	if err != nil {
		return Entry{}, err
	}
	return tx.m.entries[i].clone(), nil
}

// Add stores c under alias as a pending entry, created now by the store's
// clock, with a copy of labels. A pending key is not in the key ring; see
// [Tx.Rotate] and [Tx.Retain]. The key is encrypted into a PKCS#12 file
// with the store's password and the store's Rand.
//
// Add returns [ErrInvalidName], an [*EntryError] with [ErrDuplicateAlias]
// or [ErrDuplicateKey] (naming the entry that holds the certificate), a
// [*ParseError] with [ErrMalformed], [ErrUnsupportedKey] or
// [ErrKeyMismatch] if c is not usable, [ErrUnsupportedKey] if the key
// cannot be written to a file, and [ErrTxDone]. It does not modify c.
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
	if err := c.check("credential"); err != nil {
		return err
	}
	if other, dup := tx.duplicateOf(c.Certificate, ""); dup {
		return &EntryError{Alias: other, Err: ErrDuplicateKey}
	}
	cc := &Credential{Key: c.Key, Certificate: c.Certificate, Chain: slices.Clone(c.Chain)}
	loc, err := tx.writeKey(alias, cc)
	if err != nil {
		return err
	}
	tx.m.entries = append(tx.m.entries, Entry{
		Alias:       alias,
		Status:      StatusPending,
		Created:     normTime(tx.s.opts.now()),
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
// [ErrDuplicateKey], a [*StatusError] if the entry is not pending, a
// [*ParseError] with [ErrKeyMismatch] if cert is not for the entry's key
// (or [ErrMalformed], [ErrUnsupportedKey]), and [ErrTxDone].
func (tx *Tx) SetCertificate(alias string, cert *x509.Certificate, chain []*x509.Certificate) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status != StatusPending {
		return &StatusError{Alias: alias, Status: e.Status, Op: "SetCertificate"}
	}
	c := &Credential{Key: tx.keys[e.Location].Key, Certificate: cert, Chain: slices.Clone(chain)}
	if err := c.check("certificate"); err != nil {
		return err
	}
	if other, dup := tx.duplicateOf(cert, alias); dup {
		return &EntryError{Alias: other, Err: ErrDuplicateKey}
	}
	loc, err := tx.writeKey(alias, c)
	if err != nil {
		return err
	}
	e.Certificate, e.Chain, e.Fingerprint, e.Location = c.Certificate, c.Chain, wssec.FingerprintOf(c.Certificate), loc
	tx.dirty = true
	return nil
}

// Rotate makes the pending or retained entry alias the current key. The
// previous current key becomes retained with no expiry, since receivers
// may still encrypt to it. Rotating to a retained key rolls a renewal
// back. Rotate returns an [*EntryError] with [ErrUnknownAlias], a
// [*StatusError] if alias is already current, and [ErrTxDone].
func (tx *Tx) Rotate(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status == StatusCurrent {
		return &StatusError{Alias: alias, Status: e.Status, Op: "Rotate"}
	}
	for j := range tx.m.entries {
		if tx.m.entries[j].Status == StatusCurrent {
			tx.m.entries[j].Status = StatusRetained
			tx.m.entries[j].Expires = time.Time{}
		}
	}
	e.Status, e.Expires = StatusCurrent, time.Time{}
	tx.dirty = true
	return nil
}

// Retain puts the pending entry alias into the key ring as a retained key
// that may be removed from until on; a zero until means no expiry yet.
// The store must have a current key when the transaction commits. Retain
// returns an [*EntryError] with [ErrUnknownAlias], a [*StatusError] if the
// entry is not pending, and [ErrTxDone].
func (tx *Tx) Retain(alias string, until time.Time) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status != StatusPending {
		return &StatusError{Alias: alias, Status: e.Status, Op: "Retain"}
	}
	e.Status, e.Expires = StatusRetained, normTime(until)
	tx.dirty = true
	return nil
}

// SetExpiry sets when the retained entry alias may be removed; a zero
// until clears the expiry (a receiver may still use the key). It returns
// an [*EntryError] with [ErrUnknownAlias], a [*StatusError] if the entry
// is not retained, and [ErrTxDone].
func (tx *Tx) SetExpiry(alias string, until time.Time) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status != StatusRetained {
		return &StatusError{Alias: alias, Status: e.Status, Op: "SetExpiry"}
	}
	e.Expires = normTime(until)
	tx.dirty = true
	return nil
}

// Remove deletes the entry alias and, after the commit, its key file. A
// pending entry may always be removed. A retained entry may be removed
// only once it has an expiry that is not after the store's clock;
// otherwise Remove returns a [*wssec.RetentionError]
// ([wssec.ErrRetentionNotElapsed]) saying when, the same refusal as
// [wssec.KeyRing.Remove]. The current key cannot be removed
// ([*StatusError]); rotate first. Remove also returns an [*EntryError]
// with [ErrUnknownAlias], and [ErrTxDone].
func (tx *Tx) Remove(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := tx.m.entries[i]
	switch e.Status {
	case StatusCurrent:
		return &StatusError{Alias: alias, Status: e.Status, Op: "Remove"}
	case StatusRetained:
		if e.Expires.IsZero() || tx.s.opts.now().Before(e.Expires) {
			return &wssec.RetentionError{Fingerprint: e.Fingerprint, AllowedAt: e.Expires}
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

// SetState stores data, which must be JSON, as the state blob name; nil
// data deletes the blob. State blobs are the caller's: the store writes
// them with the entries, atomically, and never interprets them. SetState
// returns [ErrInvalidName], [ErrInvalidState] and [ErrTxDone]. It does not
// keep data.
func (tx *Tx) SetState(name string, data []byte) error {
	if err := tx.check(); err != nil {
		return err
	}
	if !validName(name) {
		return fmt.Errorf("%w: state %s", ErrInvalidName, quoteName(name))
	}
	if data == nil {
		if _, ok := tx.m.state[name]; ok {
			delete(tx.m.state, name)
			tx.dirty = true
		}
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidState, quoteName(name), err)
	}
	tx.m.state[name] = json.RawMessage(buf.Bytes())
	tx.dirty = true
	return nil
}

// State returns the state blob name as the transaction sees it. It
// returns [ErrInvalidName], [ErrStateNotFound] and [ErrTxDone].
func (tx *Tx) State(name string) ([]byte, error) {
	if err := tx.check(); err != nil {
		return nil, err
	}
	return readState(tx.m, name)
}

func cloneLabels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	return maps.Clone(l)
}

// normTime drops the monotonic reading and the location, so that times
// compare equal before and after a round trip through the manifest.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}
