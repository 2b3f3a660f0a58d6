package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wsrenew/wsrenew/wssec"
)

// maxReadAttempts bounds how often a reader re-reads the manifest when a
// writer removed a file between the reader's reads of the manifest and
// of the file.
const maxReadAttempts = 5

// Store is a persistent key store: the keys that decrypt responses, their
// ring state (current, retained until, pending), and opaque state blobs
// of the caller, kept by a [Backend] such as a directory ([Dir]).
//
// A Store is safe for concurrent use, and several Stores, in one process
// or several, may use the same backend: writers ([Store.Update] and the
// methods built on it) take the backend's lock, readers never wait. Each
// Store holds the state it last read or wrote; [Store.Reload] picks up
// changes made through other Stores.
type Store struct {
	b        Backend
	password string
	opts     Options

	// mu serializes publishing a state and changing the ring to match it.
	// It is never held across I/O.
	mu    sync.Mutex
	state atomic.Pointer[storeState]
	ring  atomic.Pointer[wssec.KeyRing]
	// replace is the only writer of ring ([wssec.RingOptions.Publish]);
	// guarded by mu.
	replace func(wssec.Key, []wssec.RetainedKey) error
	// refusals counts messages refused for a disabled key, by key.
	refusals refusalCounts
}

// checkContext refuses a nil context, as net/http does.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", ErrInvalidOptions)
	}
	return nil
}

// opened returns ErrNotExist unless s came from Open or Create.
func (s *Store) opened() error {
	if s == nil || s.state.Load() == nil {
		return fmt.Errorf("%w: use Open or Create to get a Store", ErrNotExist)
	}
	return nil
}

// view returns the published state; an empty one for a nil or zero Store.
func (s *Store) view() *storeState {
	if s.opened() != nil {
		return &storeState{m: &manifest{}}
	}
	return s.state.Load()
}

// storeState is one committed manifest with every entry's key. It is
// immutable once published.
type storeState struct {
	m    *manifest
	keys map[string]*Credential // by Entry.Location
	raw  []byte                 // the manifest as read or written
}

// Open opens the existing key store in b, reads its manifest and decrypts
// every entry with the password from password, so that a wrong password
// or a damaged store shows at once. It does not take the writer lock.
//
// Open returns [ErrNoPassword], [ErrNotExist], [ErrCorruptManifest] (a
// [*Error]), or an [*EntryError] with [ErrMissingFile],
// [ErrWrongPassword] or [ErrCorruptEntry]; a file that does not open with
// a password proven right (by the password check the manifest keeps, or
// by another entry's file) is [ErrCorruptEntry], not [ErrWrongPassword]; [ErrInvalidOptions] if b or
// ctx is nil; and I/O errors of the backend. It uses opts.Now for the key
// ring and later changes.
func Open(ctx context.Context, b Backend, password PasswordSource, opts Options) (*Store, error) {
	s, err := newStore(ctx, b, password, opts)
	if err != nil {
		return nil, err
	}
	st, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.publish(st); err != nil {
		return nil, err
	}
	return s, nil
}

// Create creates an empty key store in b (for [Dir], the directory, with
// mode 0700, if it does not exist) and returns it. The first key added
// fixes the store's password: every entry is encrypted with it, and
// [Open] and [Store.Update] refuse any other.
//
// Create returns [ErrNoPassword], [ErrExist] if b already holds a store
// or files that look like one, [ErrInvalidOptions] if b or ctx is nil,
// and I/O errors of the backend. It takes the writer lock and uses
// opts.Now for the manifest's time. On a [VersionedBackend] it writes the
// manifest with Commit at version 0, so that of two creators only one
// writes even if the lock failed to exclude the other (a lease that
// lapsed): the other gets [ErrExist].
func Create(ctx context.Context, b Backend, password PasswordSource, opts Options) (*Store, error) {
	s, err := newStore(ctx, b, password, opts)
	if err != nil {
		return nil, err
	}
	if err := b.Init(ctx); err != nil {
		return nil, err
	}
	unlock, err := b.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	names, err := b.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		if !slices.Contains(names, manifestName) {
			return nil, fmt.Errorf("%w: %s holds key files but no %s, which was lost: rebuild the store from them (Rebuild)",
				ErrExist, b.Locate(names[0]), b.Locate(manifestName))
		}
		return nil, fmt.Errorf("%w: %s", ErrExist, b.Locate(manifestName))
	}
	m := &manifest{generation: 1, updated: normTime(s.opts.now())}
	data, err := marshalManifest(m)
	if err != nil {
		return nil, err
	}
	if vb, ok := b.(VersionedBackend); ok {
		// The lock of a versioned backend may be lease-based, and a
		// creator paused past its lease could still write: the manifest
		// is written only if it still does not exist (version 0).
		if err := vb.Commit(ctx, manifestName, 0, data, nil, nil); err != nil {
			if errors.Is(err, ErrConflict) {
				return nil, fmt.Errorf("%w: %s was created meanwhile", ErrExist, b.Locate(manifestName))
			}
			return nil, err
		}
	} else if err := b.Write(ctx, manifestName, data); err != nil {
		return nil, err
	}
	if err := s.publish(&storeState{m: m, keys: map[string]*Credential{}, raw: data}); err != nil {
		return nil, err
	}
	return s, nil
}

func newStore(ctx context.Context, b Backend, password PasswordSource, opts Options) (*Store, error) {
	if err := checkContext(ctx); err != nil {
		return nil, err
	}
	if d, ok := b.(*dirBackend); b == nil || ok && d == nil {
		return nil, fmt.Errorf("%w: nil Backend", ErrInvalidOptions)
	}
	pw, err := password.password()
	if err != nil {
		return nil, err
	}
	return &Store{b: b, password: pw, opts: opts}, nil
}

// read reads the manifest and every entry's key, reusing keys of the
// published state. If a file the manifest names is missing because a
// writer replaced the manifest meanwhile, it starts over.
func (s *Store) read(ctx context.Context) (*storeState, error) {
	var lastRaw []byte
	var lastErr error
	for attempt := 1; ; attempt++ {
		raw, m, err := s.readManifest(ctx)
		if err != nil {
			return nil, err
		}
		if m == nil {
			return s.state.Load(), nil // unchanged
		}
		if lastErr != nil && bytes.Equal(raw, lastRaw) {
			return nil, lastErr // the file is missing for good
		}
		st, err := s.loadKeys(ctx, m, raw)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, ErrMissingFile) || attempt == maxReadAttempts {
			return nil, err
		}
		lastRaw, lastErr = raw, err
	}
}

// readManifest reads and parses the manifest. It returns a nil manifest
// if the bytes are those of the published state.
func (s *Store) readManifest(ctx context.Context) ([]byte, *manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	data, err := s.b.Read(ctx, manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: no %s", ErrNotExist, s.b.Locate(manifestName))
	}
	if err != nil {
		return nil, nil, err
	}
	if cur := s.state.Load(); cur != nil && bytes.Equal(cur.raw, data) {
		return data, nil, nil
	}
	m, err := s.parseManifest(data)
	return data, m, err
}

// loadKeys decrypts the key of every entry of m.
func (s *Store) loadKeys(ctx context.Context, m *manifest, raw []byte) (*storeState, error) {
	prev := s.state.Load()
	st := &storeState{m: m, keys: make(map[string]*Credential, len(m.entries)), raw: raw}
	var refused *EntryError // the first file the password did not open
	for _, e := range m.entries {
		if prev != nil {
			if c, ok := prev.keys[e.Location]; ok && c.Certificate.Equal(e.Certificate) {
				st.keys[e.Location] = c
				continue
			}
		}
		c, err := s.loadKey(ctx, e)
		var ee *EntryError
		if refused == nil && errors.As(err, &ee) && ee.Err == ErrWrongPassword {
			refused = ee
			continue
		}
		if err != nil {
			return nil, err
		}
		st.keys[e.Location] = c
	}
	if refused != nil {
		return nil, s.wrongOrDamaged(m, refused, len(st.keys) > 0)
	}
	return st, nil
}

// wrongOrDamaged tells whether a file the password did not open is
// damaged or the password wrong: the password is right if it matches the
// manifest's password check, or, in a manifest without one, if it opened
// another entry's file.
func (s *Store) wrongOrDamaged(m *manifest, e *EntryError, openedOther bool) error {
	right := openedOther
	how := "another entry's file opens with the same password"
	if m.pwCheck != nil {
		right = m.pwCheck.matches(s.password)
		how = "the password matches the manifest's password check"
	}
	if !right {
		return e
	}
	return &EntryError{Alias: e.Alias, Location: e.Location, Err: ErrCorruptEntry,
		Cause: errors.New("the file is damaged: it does not open, although " + how)}
}

func (s *Store) loadKey(ctx context.Context, e Entry) (*Credential, error) {
	if u, ok := tokenOfLocation(e.Location); ok {
		return s.loadTokenKey(e, u)
	}
	name, _ := blobOfLocation(e.Location) // checked by parseManifest
	fail := func(sentinel, cause error) (*Credential, error) {
		return nil, &EntryError{Alias: e.Alias, Location: s.b.Locate(name), Err: sentinel, Cause: cause}
	}
	data, err := s.b.Read(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(ErrMissingFile, nil)
	}
	if err != nil {
		return nil, err
	}
	c, err := ParsePKCS12(data, s.password)
	if errors.Is(err, ErrWrongPassword) {
		return fail(ErrWrongPassword, nil)
	}
	if err != nil {
		return fail(ErrCorruptEntry, err)
	}
	if !c.Certificate.Equal(e.Certificate) {
		return fail(ErrCorruptEntry, errors.New("certificate differs from the manifest"))
	}
	c.Chain = e.Chain
	return c, nil
}

// checkNotOlder refuses a manifest whose generation is older than before,
// the generation the store held before it read st: generations only grow,
// so the store was replaced behind this process's back.
func (s *Store) checkNotOlder(st *storeState, before uint64) error {
	if st.m.generation >= before {
		return nil
	}
	return &Error{Err: ErrCorruptManifest,
		Source: s.b.Locate(manifestName),
		Reason: fmt.Sprintf("generation %d is older than generation %d read before; open the store again to use it", st.m.generation, before),
	}
}

// publish makes st the store's state and brings the key ring in line
// with it, unless the store already holds the same or a newer
// generation.
func (s *Store) publish(st *storeState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.state.Load(); cur != nil && st.m.generation <= cur.m.generation {
		return nil
	}
	if err := s.syncRing(st); err != nil {
		return err
	}
	s.state.Store(st)
	return nil
}

// Reload reads the manifest and, if another Store changed it, loads the
// new keys and updates the key ring to match; see [Store.KeyRing]. It
// reports whether the state changed. It never waits for the writer lock.
// On an error the Store keeps the state and ring it had.
//
// Reload returns the errors of [Open] except [ErrNoPassword];
// [ErrNoCurrentKey] if the manifest has no current key while the ring
// has one; and [ErrCorruptManifest] if the manifest's generation is
// older than the one the Store holds, as after restoring a backup under
// a running process (open the store again to accept it). It is safe for
// concurrent use.
func (s *Store) Reload(ctx context.Context) (bool, error) {
	if err := s.opened(); err != nil {
		return false, err
	}
	if err := checkContext(ctx); err != nil {
		return false, err
	}
	before := s.state.Load().m.generation
	st, err := s.read(ctx)
	if err != nil {
		return false, err
	}
	if err := s.checkNotOlder(st, before); err != nil {
		return false, err
	}
	if err := s.publish(st); err != nil {
		return false, err
	}
	return s.state.Load().m.generation != before, nil
}

// View returns a read-only [Tx] on the state the store holds: its readers
// ([Tx.Entries], [Tx.Entry], [Tx.State], [Tx.Generation], [Tx.Latest])
// show what the store committed or read last, and its changing methods
// return [ErrTxDone]. A view never changes: call View again after
// [Store.Update] or [Store.Reload] to see their result. Its [Tx.Time] is
// zero. Unlike a transaction, a view is safe for concurrent use; View
// itself is too, and takes no lock.
func (s *Store) View() *Tx {
	st := s.view()
	return &Tx{s: s, base: st, m: st.m, keys: st.keys, view: true}
}

func entriesOf(m *manifest) []Entry {
	out := make([]Entry, len(m.entries))
	for i, e := range m.entries {
		out[i] = e.clone()
	}
	return out
}

func readState(m *manifest, name string) ([]byte, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: state %s", ErrInvalidName, quoteName(name))
	}
	v, ok := m.state[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrStateNotFound, quoteName(name))
	}
	return slices.Clone([]byte(v)), nil
}

// KeyRing returns the key ring that holds the store's current and retained
// keys, for a [wssec.Decryptor]. The store returns the same ring on every
// call and keeps it in line with every change it commits or reloads, so a
// Decryptor built once follows rotations without a restart. Pending keys
// are never in the ring.
//
// The ring is read-only ([wssec.RingOptions.Publish]): its changing
// methods return [wssec.ErrReadOnlyRing], so it never differs from what
// the store committed or last read. Change the store with [Store.Update]
// instead.
//
// KeyRing returns [ErrNoCurrentKey] while the store has no current key,
// and an [*EntryError] with [ErrUnsupportedKey] (matching
// [ErrNoCurrentKey] too) naming the current key while it is an RSA key
// under 2048 bits ([Options.AllowWeakRetainedKey]): no ring decrypts with
// such a key as its current key, and once a renewal has made a new key
// current, the ring holds the weak one as retained.
func (s *Store) KeyRing() (*wssec.KeyRing, error) {
	if err := s.opened(); err != nil {
		return nil, err
	}
	if r := s.ring.Load(); r != nil {
		return r, nil
	}
	if cur, ok := s.view().m.current(); ok {
		bits := rsaBits(cur.Certificate)
		return nil, &EntryError{Alias: cur.Alias, Err: ErrUnsupportedKey,
			Cause: fmt.Errorf("%w: the current key is an RSA key of %d bits, under %d: renew it, and the key ring keeps it as the retained key", ErrNoCurrentKey, bits, minRSABits)}
	}
	return nil, fmt.Errorf("%w: rotate a key into the store first", ErrNoCurrentKey)
}

// entryKey returns an entry and its key from st.
func (st *storeState) entryKey(alias string) (Entry, *Credential, error) {
	i := st.m.find(alias)
	if i < 0 {
		return Entry{}, nil, &EntryError{Alias: alias, Err: ErrUnknownAlias}
	}
	e := st.m.entries[i]
	return e, st.keys[e.Location], nil
}
