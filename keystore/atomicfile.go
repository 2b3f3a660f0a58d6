package keystore

import (
	"fmt"
	"os"
	"path/filepath"
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

// writeFileAtomic is the one function that writes store files: it writes
// data to a temporary file in dir, syncs it, renames it over name and
// syncs dir, so that after a crash name holds either its old content or
// data, and once it returns, data survives a crash.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+name+"-")
	if err != nil {
		return fmt.Errorf("keystore: write %s: %w", filepath.Join(dir, name), err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("keystore: write %s: %w", filepath.Join(dir, name), err)
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
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// removeFile removes name from dir. A missing file is not an error. The
// directory is not synced: the store removes only files that no manifest
// names, and one that reappears after a power loss is removed again by
// the next writer.
func removeFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("keystore: remove %w", err)
	}
	return nil
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keystore: sync directory %s: %w", dir, err)
	}
	return nil
}
