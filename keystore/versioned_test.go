package keystore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

// memBackend is an in-memory VersionedBackend: every write of a blob
// takes the next revision of the whole backend, as etcd's ModRevision
// does.
type memBackend struct {
	mu    sync.Mutex
	rev   int64
	blobs map[string][]byte
	vers  map[string]int64
	locks int // calls of Lock
	// beforeCommit, if set, runs at the start of every Commit, without mu.
	beforeCommit func()
	commits      int
}

func newMemBackend() *memBackend {
	return &memBackend{blobs: map[string][]byte{}, vers: map[string]int64{}}
}

func (b *memBackend) Init(context.Context) error { return nil }

func (b *memBackend) Lock(context.Context) (func() error, error) {
	b.mu.Lock()
	b.locks++
	b.mu.Unlock()
	return func() error { return nil }, nil
}

func (b *memBackend) Read(ctx context.Context, name string) ([]byte, error) {
	d, _, err := b.ReadVersion(ctx, name)
	return d, err
}

func (b *memBackend) ReadVersion(_ context.Context, name string) ([]byte, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.blobs[name]
	if !ok {
		return nil, 0, fmt.Errorf("mem: %s: %w", name, fs.ErrNotExist)
	}
	return slices.Clone(d), b.vers[name], nil
}

func (b *memBackend) Write(_ context.Context, name string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.put(name, data)
	return nil
}

func (b *memBackend) put(name string, data []byte) {
	b.rev++
	b.blobs[name] = slices.Clone(data)
	b.vers[name] = b.rev
}

func (b *memBackend) Remove(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.blobs, name)
	delete(b.vers, name)
	return nil
}

func (b *memBackend) List(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Collect(maps.Keys(b.blobs)), nil
}

func (b *memBackend) Locate(name string) string { return "mem:" + name }

func (b *memBackend) Commit(_ context.Context, name string, version int64, data []byte, blobs map[string][]byte, remove []string) error {
	if f := b.beforeCommit; f != nil {
		f()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.vers[name] != version {
		return fmt.Errorf("mem: %s is at version %d, not %d: %w", name, b.vers[name], version, ErrConflict)
	}
	for n, d := range blobs {
		b.put(n, d)
	}
	for _, n := range remove {
		delete(b.blobs, n)
		delete(b.vers, n)
	}
	b.put(name, data)
	b.commits++
	return nil
}

func (b *memBackend) names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.blobs))
}

// newMemStore creates a store on a fresh memBackend.
func newMemStore(t *testing.T) (*Store, *memBackend, *fakeclock.Clock) {
	t.Helper()
	b := newMemBackend()
	clock := fakeclock.New(t0)
	s, err := Create(context.Background(), b, PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return s, b, clock
}

func TestUpdate_versionedCommitsWithoutLock(t *testing.T) {
	t.Parallel()
	s, b, clock := newMemStore(t)
	locksAfterCreate, commitsAfterCreate := b.locks, b.commits
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old"), tx.Add("tmp", fixture(testpki.Stranger), nil))
	})
	mustUpdate(t, s, func(tx *Tx) error { return tx.Remove("tmp") })
	if b.locks != locksAfterCreate {
		t.Errorf("Update took the lock %d times, want 0", b.locks-locksAfterCreate)
	}
	if commitsAfterCreate != 1 {
		t.Errorf("Create made %d Commit calls, want 1", commitsAfterCreate)
	}
	if b.commits-commitsAfterCreate != 2 {
		t.Errorf("Update made %d Commit calls, want 2", b.commits-commitsAfterCreate)
	}
	// The removed entry's blob went in the same commit.
	if diff := cmp.Diff([]string{"manifest.json", "old.2.p12"}, b.names()); diff != "" {
		t.Errorf("blobs (-want +got):\n%s", diff)
	}
	other, err := Open(context.Background(), b, PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	if got, want := other.View().Generation(), uint64(3); got != want {
		t.Errorf("Generation() = %d, want %d", got, want)
	}
	if _, err := other.KeyRing(); err != nil {
		t.Errorf("KeyRing() error = %v", err)
	}
}

func TestUpdate_versionedConflictRunsAgain(t *testing.T) {
	t.Parallel()
	a, b, clock := newMemStore(t)
	other, err := Open(context.Background(), b, PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	runs := 0
	err = a.Update(context.Background(), func(tx *Tx) error {
		runs++
		if runs == 1 {
			// Another writer commits between this read and this commit.
			mustUpdate(t, other, func(tx *Tx) error { return tx.Add("theirs", fixture(testpki.Stranger), nil) })
		}
		return tx.Add("ours", fixture(testpki.Old), nil)
	})
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	if runs != 2 {
		t.Errorf("fn ran %d times, want 2", runs)
	}
	var aliases []string
	for _, e := range a.View().Entries() {
		aliases = append(aliases, e.Alias)
	}
	if diff := cmp.Diff([]string{"theirs", "ours"}, aliases); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if got, want := a.View().Generation(), uint64(3); got != want {
		t.Errorf("Generation() = %d, want %d", got, want)
	}
}

func TestUpdate_versionedErrors(t *testing.T) {
	t.Parallel()
	errFn := errors.New("fn failed")
	tests := []struct {
		name      string
		setup     func(b *memBackend)
		fn        func(tx *Tx) error
		wantErr   error
		wantRuns  int
		wantBlobs []string
	}{
		{
			name: "retries used up",
			setup: func(b *memBackend) {
				b.beforeCommit = func() { // someone always commits first
					b.mu.Lock()
					b.put(manifestName, b.blobs[manifestName])
					b.mu.Unlock()
				}
			},
			fn:        func(tx *Tx) error { return tx.Add("old", fixture(testpki.Old), nil) },
			wantErr:   ErrConflict,
			wantRuns:  maxCommitAttempts,
			wantBlobs: []string{"manifest.json"},
		},
		{
			name:      "fn fails",
			fn:        func(tx *Tx) error { return errors.Join(tx.Add("old", fixture(testpki.Old), nil), errFn) },
			wantErr:   errFn,
			wantRuns:  1,
			wantBlobs: []string{"manifest.json"},
		},
		{
			name:      "manifest gone",
			setup:     func(b *memBackend) { b.Remove(context.Background(), manifestName) },
			fn:        func(tx *Tx) error { return nil },
			wantErr:   ErrNotExist,
			wantRuns:  0,
			wantBlobs: nil,
		},
		{
			name:      "retained without current",
			fn:        func(tx *Tx) error { return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Retain("old", t0)) },
			wantErr:   ErrNoCurrentKey,
			wantRuns:  1,
			wantBlobs: []string{"manifest.json"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, b, _ := newMemStore(t)
			if tc.setup != nil {
				tc.setup(b)
			}
			runs := 0
			err := s.Update(context.Background(), func(tx *Tx) error { runs++; return tc.fn(tx) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update() error = %v, want %v", err, tc.wantErr)
			}
			if runs != tc.wantRuns {
				t.Errorf("fn ran %d times, want %d", runs, tc.wantRuns)
			}
			if diff := cmp.Diff(tc.wantBlobs, b.names()); diff != "" {
				t.Errorf("blobs (-want +got):\n%s", diff)
			}
		})
	}
}
