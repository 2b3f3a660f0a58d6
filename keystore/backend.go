package keystore

import "context"

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

	// Write creates or replaces the blob, atomically and durably. An
	// error that comes after the new content became visible, but before
	// it is known to be durable, matches [ErrOutcomeUnknown]; any other
	// error leaves the blob as it was.
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
