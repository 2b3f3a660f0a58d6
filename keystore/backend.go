package keystore

import (
	"context"
	"time"
)

// Backend is where a [Store] keeps its files: the manifest and one blob per
// key entry, each under a name the store chooses. The directory backend
// ([Dir]) is the one this package provides; a backend on a distributed
// engine implements the same methods.
//
// The store relies on these guarantees:
//   - Write replaces a blob atomically and durably: when it returns, the
//     new content survives a crash, and a crash or a concurrent Read during
//     it sees either the old or the new content, never a mix.
//   - Lock gives one writer at a time, across processes; readers
//     (Read, List) never wait for it.
//   - Names are those the store passes: ASCII letters, digits, '.', '_'
//     and '-', starting with a letter or digit.
//
// The store writes entry blobs before the manifest that names them, and
// removes blobs only after a manifest that no longer names them is
// written, so a crash at any point leaves a manifest whose blobs all exist.
// The store calls Write and Remove only while it holds the lock.
// Implementations must be safe for concurrent use.
//
// A backend that can push change notifications may offer them through an
// additional, optional interface; the store reads the manifest to notice
// changes ([Store.Reload]).
type Backend interface {
	// Init prepares empty storage for a new store, such as creating a
	// directory. It succeeds if the storage is already prepared.
	Init(ctx context.Context) error

	// Lock takes the writer lock, waiting until it is free or ctx is done.
	// The returned function releases it.
	Lock(ctx context.Context) (unlock func() error, err error)

	// Read returns the blob's content, or an error wrapping fs.ErrNotExist
	// if there is no such blob.
	Read(ctx context.Context, name string) ([]byte, error)

	// Write creates or replaces the blob, atomically and durably.
	Write(ctx context.Context, name string, data []byte) error

	// Remove deletes the blob. Removing a missing blob succeeds. The
	// removal need not be durable: the store removes only blobs that no
	// manifest names, and removes them again if they reappear.
	Remove(ctx context.Context, name string) error

	// List returns the names of all blobs, in any order.
	List(ctx context.Context) ([]string, error)

	// Locate describes where the blob lives, such as a file path, for
	// error messages.
	Locate(name string) string
}

// VersionedBackend is a Backend whose commits are conditioned on the
// manifest version the writer read, for engines where a lock cannot be
// trusted (a lease-based lock lapses under a paused writer, which could
// still write). When the Backend implements it, [Store.Update] never
// calls Lock: it reads the manifest with ReadVersion, runs its function,
// and commits with Commit; on [ErrConflict] it reads again and runs the
// function again (at most a few times), so the function must have no
// effects outside its [Tx].
type VersionedBackend interface {
	Backend

	// ReadVersion returns the blob and its version: a number that
	// changes with every write of it (for etcd, the key's ModRevision).
	// A missing blob returns version 0 and an error wrapping
	// fs.ErrNotExist.
	ReadVersion(ctx context.Context, name string) (data []byte, version int64, err error)

	// Commit writes every blob of blobs and then name=data as one
	// atomic, durable transaction, provided the version of name is still
	// version (0: name must not exist). Otherwise it writes nothing and
	// returns an error wrapping [ErrConflict]. It may also remove the
	// blobs listed in remove in the same transaction.
	Commit(ctx context.Context, name string, version int64, data []byte, blobs map[string][]byte, remove []string) error
}

// Watcher is implemented by backends that push change notifications.
type Watcher interface {
	// Watch returns a channel that receives a value (it is buffered and
	// coalesces) whenever the manifest may have changed, starting with
	// one value at once. The channel is closed when ctx ends or the
	// watch fails (etcd: compaction, lost connection; directory: the
	// notification facility failed); the caller then reads the whole
	// state again and calls Watch again. Spurious values are allowed;
	// missed changes are not.
	Watch(ctx context.Context) (<-chan struct{}, error)
}

// RecordBackend keeps small records outside the manifest, each written
// by one process without the writer lock: holder registrations (kind
// "holders") and usage evidence (kind "usage"). Kinds and ids use the
// blob name alphabet (ASCII letters, digits, '.', '_', '-').
type RecordBackend interface {
	// PutRecord creates or replaces the record atomically. With ttl > 0
	// the record is leased: it vanishes if not put again within ttl
	// (etcd: a lease kept per (kind, id), refreshed on each put;
	// directory: the store filters by the heartbeat time written inside
	// the record, and removes expired files lazily). With ttl == 0 it
	// stays until deleted.
	PutRecord(ctx context.Context, kind, id string, data []byte, ttl time.Duration) error

	// Records returns every record of kind by id. Leased records past
	// their ttl may still be listed by backends without server-side
	// leases; the store checks the heartbeat inside.
	Records(ctx context.Context, kind string) (map[string][]byte, error)

	// DeleteRecord removes a record; a missing one is not an error.
	DeleteRecord(ctx context.Context, kind, id string) error
}
