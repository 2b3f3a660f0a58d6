package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Survivor is a key file found in a backend whose manifest is missing.
type Survivor struct {
	// Alias and Generation come from the file's name.
	Alias      string
	Generation uint64
	// Location is where the file lives, such as its path.
	Location string
	// Credential is the key, or nil if the file does not open; Err then
	// says why (an [*EntryError]).
	Credential *Credential
	Err        error
}

// FindSurvivors lists the key files in b, with the newest generation of
// each alias first among its own, and opens each with the password. It is
// meant for a store whose manifest was lost: it reads only key files and
// takes no lock. It returns [ErrNoPassword], [ErrInvalidOptions] for a
// nil backend or context, and I/O errors of the backend.
func FindSurvivors(ctx context.Context, b Backend, password PasswordSource) ([]Survivor, error) {
	s, err := newStore(ctx, b, password, Options{})
	if err != nil {
		return nil, err
	}
	names, err := b.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Survivor
	for _, n := range names {
		if !validBlobName(n) {
			continue
		}
		base := strings.TrimSuffix(n, keyBlobSuffix)
		i := strings.LastIndexByte(base, '.')
		gen, _ := strconv.ParseUint(base[i+1:], 10, 64)
		sv := Survivor{Alias: base[:i], Generation: gen, Location: b.Locate(n)}
		data, err := b.Read(ctx, n)
		if err != nil {
			return nil, err
		}
		c, err := ParsePKCS12(data, s.password)
		switch {
		case errors.Is(err, ErrWrongPassword):
			sv.Err = &EntryError{Alias: sv.Alias, Location: sv.Location, Err: ErrWrongPassword}
		case err != nil:
			sv.Err = &EntryError{Alias: sv.Alias, Location: sv.Location, Err: ErrCorruptEntry, Cause: err}
		default:
			sv.Credential = c
		}
		out = append(out, sv)
	}
	slices.SortStableFunc(out, func(a, b Survivor) int {
		if c := strings.Compare(a.Alias, b.Alias); c != 0 {
			return c
		}
		return -cmpUint(a.Generation, b.Generation)
	})
	return out, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// RebuildOptions says how [Rebuild] assigns the ring state the lost
// manifest held.
type RebuildOptions struct {
	// Current is the alias of the key receivers are told to encrypt to;
	// required.
	Current string
	// RetainUntil gives a retained key an expiry: it may be removed from
	// then on. It must be at least [MinRetention] after the clock's time,
	// since the key was handed out. A surviving key not named here is
	// retained with no expiry, which keeps it until an expiry is set.
	// The map is not kept.
	RetainUntil map[string]time.Time
}

// Rebuild writes a new manifest for the key files that survive in b when
// the manifest was lost, and returns the store. Every surviving key
// enters the key ring, so nothing that a receiver may encrypt to stops
// decrypting: opts.Current becomes the current key, every other one is
// retained, until the date RetainUntil gives or with no expiry. Each is
// recorded as provided at the clock's time, since whether it was handed
// out is not known. Of an alias with several files, the newest
// generation is taken. The new manifest's generation is above every
// file's, so a process still holding the lost one takes the new one. The
// callers' state blobs (the rollover package's renewal state and audit
// trail) are lost with the manifest: start the procedure from the store
// as rebuilt.
//
// Rebuild returns [ErrExist] if b holds a manifest, [ErrNotExist] if it
// holds no key file, an [*EntryError] for a key file that does not open
// ([ErrWrongPassword], [ErrCorruptEntry]), [ErrUnknownAlias] for a
// Current or RetainUntil alias without a file, an [*EntryError] for [ErrRetentionFloor] for a
// RetainUntil under the floor, [ErrNoPassword], [ErrInvalidOptions], and
// I/O errors of the backend. It takes the writer lock and uses opts.Now.
func Rebuild(ctx context.Context, b Backend, password PasswordSource, opts Options, ro RebuildOptions) (*Store, error) {
	s, err := newStore(ctx, b, password, opts)
	if err != nil {
		return nil, err
	}
	unlock, err := b.Lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := b.Read(ctx, manifestName); err == nil {
		return nil, fmt.Errorf("%w: %s; open it instead", ErrExist, b.Locate(manifestName))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	survivors, err := FindSurvivors(ctx, b, password)
	if err != nil {
		return nil, err
	}
	now := normTime(s.opts.now())
	m := &manifest{updated: now, state: map[string]json.RawMessage{}}
	keys := map[string]*Credential{}
	seen := map[string]bool{}
	fps := map[wssec.Fingerprint]bool{}
	var gen uint64
	for _, sv := range survivors {
		gen = max(gen, sv.Generation)
		if seen[sv.Alias] {
			continue // an older generation of the same key
		}
		if sv.Err != nil {
			return nil, sv.Err
		}
		seen[sv.Alias] = true
		fp := wssec.FingerprintOf(sv.Credential.Certificate)
		if fps[fp] {
			continue
		}
		fps[fp] = true
		loc := locationBlob + keyBlobName(sv.Alias, sv.Generation)
		e := Entry{Alias: sv.Alias, Status: StatusRetained, Created: now, Provided: now,
			Certificate: sv.Credential.Certificate, Chain: sv.Credential.Chain, Fingerprint: fp, Location: loc}
		if sv.Alias == ro.Current {
			e.Status = StatusCurrent
		} else if until, ok := ro.RetainUntil[sv.Alias]; ok {
			until = normTime(until)
			if floor := now.Add(MinRetention); until.Before(floor) {
				return nil, &EntryError{Alias: sv.Alias, Expires: until, Earliest: floor, Err: ErrRetentionFloor}
			}
			e.Expires, e.RetainUntil = until, until
		}
		m.entries = append(m.entries, e)
		keys[loc] = sv.Credential
	}
	if len(m.entries) == 0 {
		return nil, fmt.Errorf("%w: no key files in %s", ErrNotExist, b.Locate(manifestName))
	}
	for _, alias := range append([]string{ro.Current}, slices.Sorted(maps.Keys(ro.RetainUntil))...) {
		if !seen[alias] {
			return nil, &EntryError{Alias: alias, Err: ErrUnknownAlias, Cause: errors.New("no surviving key file has this alias")}
		}
	}
	if _, ok := m.current(); !ok {
		return nil, fmt.Errorf("%w: name the current key", ErrInvalidOptions)
	}
	if err := checkEntries(m.entries); err != nil {
		return nil, fmt.Errorf("keystore: rebuild refused: %w", err)
	}
	m.generation = gen + 1
	if m.pwCheck, err = newPasswordCheck(s.password, s.opts.rand()); err != nil {
		return nil, err
	}
	data, err := marshalManifest(m)
	if err != nil {
		return nil, err
	}
	if err := b.Write(ctx, manifestName, data); err != nil {
		return nil, err
	}
	if err := s.publish(&storeState{m: m, keys: keys, raw: data}); err != nil {
		return nil, err
	}
	return s, nil
}
