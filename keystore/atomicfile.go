package keystore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// filePerm and dirPerm are the permissions of everything the store
// creates: its files hold private keys (encrypted) and the ring state.
const (
	filePerm = 0o600
	dirPerm  = 0o700
)

// tempPrefix starts the names of files being written. Only the lock
// holder writes, so any such file found by the lock holder was left by a
// writer that crashed.
const tempPrefix = ".tmp-"

// fileSystem is what the directory backend does to the file system. The
// operating system's (osFS) is the only one outside tests; the tests
// replace it with one that forgets what was not synced, to cut the power
// at every write and sync.
type fileSystem interface {
	Mkdir(path string, perm fs.FileMode) error
	Stat(path string) (fs.FileInfo, error)
	ReadFile(path string) ([]byte, error)
	// ListFiles returns the names of the regular files in dir.
	ListFiles(dir string) ([]string, error)
	CreateTemp(dir, pattern string) (tempFile, error)
	Rename(oldpath, newpath string) error
	Remove(path string) error
	// SyncDir makes the creations, renames and removals in dir durable.
	SyncDir(dir string) error
	// Lock takes the exclusive writer lock of the file path.
	Lock(ctx context.Context, path string) (unlock func() error, err error)
}

// tempFile is a file being written.
type tempFile interface {
	Name() string
	Chmod(mode fs.FileMode) error
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// osFS is the operating system's file system.
type osFS struct{}

func (osFS) Mkdir(path string, perm fs.FileMode) error { return os.Mkdir(path, perm) }
func (osFS) Stat(path string) (fs.FileInfo, error)     { return os.Stat(path) }
func (osFS) ReadFile(path string) ([]byte, error)      { return os.ReadFile(path) }
func (osFS) Rename(oldpath, newpath string) error      { return os.Rename(oldpath, newpath) }
func (osFS) Remove(path string) error                  { return os.Remove(path) }

func (osFS) ListFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (osFS) Lock(ctx context.Context, path string) (func() error, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("keystore: lock: %w", classify(err))
	}
	if err := lockFile(ctx, f); err != nil {
		return nil, err
	}
	// Closing the last descriptor of the open file releases the lock.
	return f.Close, nil
}

// writeFileAtomic is the one function that writes store files: it writes
// data to a temporary file in dir, syncs it, renames it over name and
// syncs dir, so that after a crash name holds either its old content or
// data, and once it returns, data survives a crash.
//
// An error before the rename leaves name as it was. An error of the
// directory sync after the rename is an [*Error]: name holds data
// now, but a power loss may still take it back.
func writeFileAtomic(fsys fileSystem, dir, name string, data []byte) (err error) {
	path := filepath.Join(dir, name)
	f, err := fsys.CreateTemp(dir, tempPrefix+name+"-")
	if err != nil {
		return fmt.Errorf("keystore: write %s: %w", path, classify(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			fsys.Remove(tmp)
			err = fmt.Errorf("keystore: write %s: %w", path, classify(err))
		}
	}()
	if err := f.Chmod(filePerm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	if err := fsys.SyncDir(dir); err != nil {
		return &Error{Err: ErrOutcomeUnknown, Source: path, Cause: fmt.Errorf("sync directory %s: %w", dir, classify(err))}
	}
	return nil
}

// removeFile removes name from dir. A missing file is not an error. The
// directory is not synced: the store removes only files that no manifest
// names, and one that reappears after a power loss is removed again by
// the next writer.
func removeFile(fsys fileSystem, dir, name string) error {
	if err := fsys.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keystore: remove %w", classify(err))
	}
	return nil
}

// classify adds the sentinel of a storage fault the operator can act on:
// a full file system ([ErrNoSpace]) or one that cannot be written
// ([ErrReadOnly]).
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoSpace), errors.Is(err, ErrReadOnly):
		return err
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	case errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	}
	return err
}
