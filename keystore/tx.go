package keystore

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
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
	now   time.Time              // the store's clock when the transaction began
	// destroyed are the disabled entries whose window passed.
	destroyed []Entry
	dirty     bool
	done      bool
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
// without a current key; [ErrInvalidOptions] if fn or ctx is nil; an
// [*OutcomeError] ([ErrOutcomeUnknown]) if an I/O error came after the new
// manifest was in place (the store then holds the new state, which a power
// loss may still take back: open the store again to see what is
// committed); I/O errors of the backend, which match [ErrNoSpace] or
// [ErrReadOnly] where the storage is full or not writable, and leave the
// store as it was. It is safe for concurrent use.
//
// The transaction's time ([Tx.Time]) is the store's clock read once when
// the lock is held. If it is before the latest time the store has
// recorded, Update returns a [*ClockError] ([ErrClockBehind]) without
// running fn: a clock that runs behind would record hand-outs and
// expiries in the past and end retention early.
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
	tx, err := s.transact(ctx, before, base, fn)
	if tx == nil || err != nil {
		return err
	}
	return tx.commit(ctx)
}

// transact publishes base, which the store read while it held generation
// before, and runs fn in a transaction on it. It returns the transaction
// to commit, or nil if fn changed nothing or failed.
func (s *Store) transact(ctx context.Context, before uint64, base *storeState, fn func(tx *Tx) error) (*Tx, error) {
	if err := s.checkNotOlder(base, before); err != nil {
		return nil, err
	}
	if err := s.publish(base); err != nil {
		return nil, err
	}
	tx, err := s.begin(base)
	if err != nil {
		return nil, err
	}
	err = fn(tx)
	tx.done = true
	if err != nil || !tx.dirty {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return tx, nil
}

// begin starts a transaction on base at the store's clock, refusing a
// clock behind the latest time the store recorded.
func (s *Store) begin(base *storeState) (*Tx, error) {
	now := normTime(s.opts.now())
	if latest := base.m.latest(); now.Before(latest) {
		return nil, &ClockError{Now: now, Latest: latest}
	}
	tx := &Tx{s: s, base: base, m: base.m.clone(), keys: maps.Clone(base.keys), blobs: map[string][]byte{}, now: now}
	if err := tx.destroyExpired(); err != nil {
		return nil, err
	}
	return tx, nil
}

// commit writes the transaction: the new key blobs, then the manifest;
// once the manifest is durable, it removes blobs no manifest names.
func (tx *Tx) commit(ctx context.Context) error {
	s := tx.s
	data, next, named, err := tx.prepare()
	if err != nil {
		return err
	}
	m := next.m
	for _, name := range slices.Sorted(maps.Keys(tx.blobs)) {
		if !named[name] {
			continue // added and removed again in this transaction
		}
		if err := s.b.Write(ctx, name, tx.blobs[name]); err != nil {
			var oe *OutcomeError
			if errors.As(err, &oe) {
				// No manifest names the blob yet: nothing is committed.
				return fmt.Errorf("keystore: change not committed: write %s: %w", oe.Path, oe.Cause)
			}
			return err
		}
	}
	if err := s.b.Write(ctx, manifestName, data); err != nil {
		var oe *OutcomeError
		if !errors.As(err, &oe) {
			return err
		}
		// The new manifest is what readers see, but it may not survive a
		// power loss, which would bring back the old one: keep the files
		// the old one names.
		oe.Generation = m.generation
		s.publish(next)
		return oe
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

// prepare checks the rules that span entries and builds the next state:
// the manifest with its new generation, time and password check, its
// bytes, and the names of the blobs it refers to.
func (tx *Tx) prepare() (data []byte, next *storeState, named map[string]bool, err error) {
	s, m := tx.s, tx.m
	if err := checkEntries(m.entries); err != nil {
		return nil, nil, nil, fmt.Errorf("keystore: update refused: %w", err)
	}
	if _, had := tx.base.m.current(); had {
		if _, has := m.current(); !has {
			return nil, nil, nil, fmt.Errorf("keystore: update refused: %w: the change leaves the key ring without a current key", ErrNoCurrentKey)
		}
	}
	m.generation = tx.base.m.generation + 1
	m.updated = tx.now
	if m.pwCheck == nil && len(m.entries) > 0 {
		// Every entry opened with the password (or was written with it):
		// keep the proof that it is the right one.
		c, err := newPasswordCheck(s.password, s.opts.rand())
		if err != nil {
			return nil, nil, nil, err
		}
		m.pwCheck = c
	}
	data, err = marshalManifest(m)
	if err != nil {
		return nil, nil, nil, err
	}
	next = &storeState{m: m, keys: make(map[string]*Credential, len(m.entries)), raw: data}
	named = map[string]bool{}
	for _, e := range m.entries {
		next.keys[e.Location] = tx.keys[e.Location]
		name, _ := blobOfLocation(e.Location)
		named[name] = true
	}
	return data, next, named, nil
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

// Time returns the transaction's time: the store's clock when
// [Store.Update] took the lock, never before the latest time the store
// had recorded. Creation, hand-out and removal checks use it.
func (tx *Tx) Time() time.Time {
	if tx == nil {
		return time.Time{}
	}
	return tx.now
}

// Latest returns the latest time the store recorded before the
// transaction: when the state it builds on was committed, and when each
// entry was created or provided. [Tx.Time] is never before it.
func (tx *Tx) Latest() time.Time {
	if tx == nil {
		return time.Time{}
	}
	return tx.base.m.latest()
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
	var loc string
	var err error
	if k, ok := c.Key.(*tokenKey); ok {
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
// key rolls a renewal back. Rotate returns an [*EntryError] with
// [ErrUnknownAlias], a [*StatusError] if alias is already current or
// disabled (restore it first), and [ErrTxDone].
func (tx *Tx) Rotate(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status == StatusCurrent || e.Status == StatusDisabled {
		return &StatusError{Alias: alias, Status: e.Status, Op: "Rotate"}
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
	e.RetainUntil = later(e.RetainUntil, e.Expires)
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

// SetExpiry sets when the retained entry alias may be removed; a zero
// until clears the expiry (a receiver may still use the key). An expiry
// only ever moves later: until may not be before the entry's expiry or
// its [Entry.RetainUntil], and a key that was handed to a receiver
// ([Entry.Provided]) that has no expiry may be given one no sooner than
// [MinRetention] after the transaction's time. Otherwise SetExpiry
// returns an [*ExpiryError] ([ErrRetentionFloor]) naming the earliest
// expiry allowed. It also returns an [*EntryError] with
// [ErrUnknownAlias], a [*StatusError] if the entry is not retained, and
// [ErrTxDone].
func (tx *Tx) SetExpiry(alias string, until time.Time) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if e.Status != StatusRetained {
		return &StatusError{Alias: alias, Status: e.Status, Op: "SetExpiry"}
	}
	until = normTime(until)
	if !until.IsZero() {
		earliest := later(e.Expires, e.RetainUntil)
		if e.Expires.IsZero() && e.provided() {
			earliest = later(earliest, tx.now.Add(MinRetention))
		}
		if until.Before(earliest) {
			return &ExpiryError{Alias: alias, Expires: until, Earliest: earliest}
		}
	}
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
// [ErrUnknownAlias], a [*StatusError] for a pending entry (its
// certificate must not be handed out), and [ErrTxDone].
func (tx *Tx) MarkProvided(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := &tx.m.entries[i]
	if !e.Status.inRing() {
		return &StatusError{Alias: alias, Status: e.Status, Op: "MarkProvided"}
	}
	if e.Provided.IsZero() {
		e.Provided = tx.now
		tx.dirty = true
	}
	return nil
}

// Remove deletes the entry alias and, after the commit, its key file. A
// pending entry may always be removed. A retained entry may be removed
// only once it has an expiry that is not after the transaction's time;
// otherwise Remove returns a [*wssec.RetentionError]
// ([wssec.ErrRetentionNotElapsed]) saying when, the same refusal as
// [wssec.KeyRing.Remove]. A disabled entry ([Tx.Disable]) may be
// removed once its restore window has passed, the same refusal before.
// The current key cannot be removed
// ([*StatusError]); rotate first, or cancel a current key that was never
// handed out ([Tx.Cancel]). Remove also returns an [*EntryError] with
// [ErrUnknownAlias], and [ErrTxDone].
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
		allowed := later(e.Expires, e.RetainUntil)
		if e.Expires.IsZero() || tx.now.Before(allowed) {
			if e.Expires.IsZero() {
				allowed = time.Time{}
			}
			return &wssec.RetentionError{Fingerprint: e.Fingerprint, AllowedAt: allowed}
		}
	case StatusDisabled:
		if allowed := destroyableAt(e); tx.now.Before(allowed) {
			return &wssec.RetentionError{Fingerprint: e.Fingerprint, AllowedAt: allowed}
		}
	}
	tx.m.entries = slices.Delete(tx.m.entries, i, i+1)
	tx.dirty = true
	return nil
}

// Cancel deletes the pending or current entry alias for a key that was
// never handed to a receiver: a renewal abandoned before its certificate
// was provided. It refuses a key that was provided with an [*EntryError]
// with [ErrProvided]: a receiver may encrypt to it. It refuses any other
// retained key with a [*StatusError]: a key kept in the key ring
// beside the current one (such as an imported predecessor, see
// [Tx.Retain]) is there because it may still be used, and leaves only
// through [Tx.Remove] once its retention allows. The
// store does not know whether a key decrypted responses (its key ring
// also decrypts self-tests); the rollover package checks its usage
// evidence before it cancels. Cancelling the current key leaves the store without one; the
// transaction must make another key current ([Tx.Rotate]) or the commit
// fails with [ErrNoCurrentKey]. Cancel also returns an [*EntryError] with
// [ErrUnknownAlias], and [ErrTxDone].
func (tx *Tx) Cancel(alias string) error {
	i, err := tx.find(alias)
	if err != nil {
		return err
	}
	e := tx.m.entries[i]
	if e.provided() {
		return &EntryError{Alias: alias, Err: ErrProvided, Cause: fmt.Errorf("provided at %s", e.Provided.Format(time.RFC3339))}
	}
	if e.Status == StatusRetained {
		return &StatusError{Alias: alias, Status: e.Status, Op: "Cancel"}
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
// them with the entries, atomically, and never interprets them. The name
// "keystore-destroyed" is the store's own ([Tx.TakeDestructions]). SetState
// returns [ErrInvalidName], [ErrInvalidState] and [ErrTxDone]. It does not
// keep data.
func (tx *Tx) SetState(name string, data []byte) error {
	if err := tx.check(); err != nil {
		return err
	}
	if !validName(name) || name == destroyedName {
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
