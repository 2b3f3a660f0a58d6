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
// function returns ([ErrTxDone]). [Store.View] returns a read-only Tx on
// the store's state, whose readers work at any time.
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
	// view marks a read-only Tx from [Store.View].
	view bool
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
// [*Error] ([ErrOutcomeUnknown]) if an I/O error came after the new
// manifest was in place (the store then holds the new state, which a power
// loss may still take back: open the store again to see what is
// committed); I/O errors of the backend, which match [ErrNoSpace] or
// [ErrReadOnly] where the storage is full or not writable, and leave the
// store as it was. It is safe for concurrent use.
//
// The transaction's time ([Tx.Time]) is the store's clock read once when
// the lock is held. If it is before the latest time the store has
// recorded, Update returns a [*Error] ([ErrClockBehind]) without
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
		return nil, &Error{Err: ErrClockBehind, Now: now, Latest: latest}
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
			var oe *Error
			if errors.As(err, &oe) && oe.Err == ErrOutcomeUnknown {
				// No manifest names the blob yet: nothing is committed.
				return fmt.Errorf("keystore: change not committed: write %s: %w", oe.Source, oe.Cause)
			}
			return err
		}
	}
	if err := s.b.Write(ctx, manifestName, data); err != nil {
		var oe *Error
		if !errors.As(err, &oe) || oe.Err != ErrOutcomeUnknown {
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

// check refuses a change to a finished transaction or a view.
func (tx *Tx) check() error {
	if tx == nil || tx.done || tx.view {
		return ErrTxDone
	}
	return nil
}

// checkRead refuses a read of a finished transaction; a view may always
// be read.
func (tx *Tx) checkRead() error {
	if tx == nil || (tx.done && !tx.view) {
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
	if err := tx.checkRead(); err != nil {
		return Entry{}, err
	}
	i := tx.m.find(alias)
	if i < 0 {
		return Entry{}, &EntryError{Alias: alias, Err: ErrUnknownAlias}
	}
	return tx.m.entries[i].clone(), nil
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
	if err := tx.checkRead(); err != nil {
		return nil, err
	}
	return readState(tx.m, name)
}
