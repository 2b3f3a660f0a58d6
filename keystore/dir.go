package keystore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// lockName is the lock file of a directory store. It is created empty and
// never written.
const lockName = ".lock"

// dirBackend is the [Backend] of [Dir].
type dirBackend struct {
	dir  string
	fsys fileSystem
}

// Dir returns the backend that keeps a store in the directory path of the
// local file system: one file per blob, written with a temporary file,
// fsync, rename and a directory fsync; the writer lock is an flock(2) on
// a lock file in the directory. Files are created with mode 0600, the
// directory with 0700. The backend also implements [Watcher] (inotify on
// Linux) and [RecordBackend]. It is safe for concurrent use, also by
// several processes. Dir does not touch the file system.
func Dir(path string) Backend {
	return &dirBackend{dir: filepath.Clean(path), fsys: osFS{}}
}

func (d *dirBackend) fs() fileSystem {
	if d.fsys == nil {
		return osFS{}
	}
	return d.fsys
}

// Init creates the directory with mode 0700, and syncs its parent. An
// existing directory is kept as it is.
func (d *dirBackend) Init(ctx context.Context) error {
	err := d.fs().Mkdir(d.dir, dirPerm)
	if errors.Is(err, fs.ErrExist) {
		fi, serr := d.fs().Stat(d.dir)
		if serr != nil {
			return fmt.Errorf("keystore: %w", serr)
		}
		if !fi.IsDir() {
			return fmt.Errorf("keystore: %s is not a directory", d.dir)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("keystore: %w", classify(err))
	}
	if err := d.fs().SyncDir(filepath.Dir(d.dir)); err != nil {
		return fmt.Errorf("keystore: sync directory %s: %w", filepath.Dir(d.dir), classify(err))
	}
	return nil
}

// Lock takes an exclusive flock(2) on the directory's lock file, creating
// the file if needed, and removes temporary files that a writer which
// crashed left behind. If ctx is done while it waits, Lock returns ctx's
// error; the lock is then released as soon as it would have been taken.
func (d *dirBackend) Lock(ctx context.Context) (func() error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	unlock, err := d.fs().Lock(ctx, filepath.Join(d.dir, lockName))
	if err != nil {
		return nil, err
	}
	if err := d.removeTemps(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

func (d *dirBackend) removeTemps() error {
	names, err := d.fs().ListFiles(d.dir)
	if err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix) {
			if err := removeFile(d.fs(), d.dir, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *dirBackend) path(name string) (string, error) {
	if !validBlobName(name) && name != manifestName {
		return "", fmt.Errorf("keystore: invalid blob name %s", quoteName(name))
	}
	return filepath.Join(d.dir, name), nil
}

// Read returns the content of the file name, or an error wrapping
// fs.ErrNotExist if there is none. It does not lock.
func (d *dirBackend) Read(ctx context.Context, name string) ([]byte, error) {
	p, err := d.path(name)
	if err != nil {
		return nil, err
	}
	b, err := d.fs().ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return b, nil
}

// Write replaces the file name atomically and durably. A failed sync of
// the directory after the rename returns an [*Error]; errors of a
// full or read-only file system match [ErrNoSpace] and [ErrReadOnly].
func (d *dirBackend) Write(ctx context.Context, name string, data []byte) error {
	if _, err := d.path(name); err != nil {
		return err
	}
	return writeFileAtomic(d.fs(), d.dir, name, data)
}

// Remove deletes the file name. It does not sync the directory; see
// [Backend].
func (d *dirBackend) Remove(ctx context.Context, name string) error {
	if _, err := d.path(name); err != nil {
		return err
	}
	return removeFile(d.fs(), d.dir, name)
}

// List returns the names of the store's files, without the lock file and
// temporary files.
func (d *dirBackend) List(ctx context.Context) ([]string, error) {
	all, err := d.fs().ListFiles(d.dir)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	var names []string
	for _, n := range all {
		if n == manifestName || validBlobName(n) {
			names = append(names, n)
		}
	}
	return names, nil
}

// Locate returns the file path of name.
func (d *dirBackend) Locate(name string) string { return filepath.Join(d.dir, name) }
