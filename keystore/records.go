package keystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Record kinds the store keeps through a [RecordBackend].
const (
	recordHolders = "holders"
	recordUsage   = "usage"
)

// recordPath returns the directory of kind and checks id.
func (d *dirBackend) recordDir(kind, id string) (string, error) {
	if !validName(kind) || strings.HasPrefix(kind, ".") {
		return "", fmt.Errorf("%w: record kind %s", ErrInvalidName, quoteName(kind))
	}
	if id != "" && !validName(id) {
		return "", fmt.Errorf("%w: record id %s", ErrInvalidName, quoteName(id))
	}
	return filepath.Join(d.dir, kind), nil
}

// PutRecord writes the record as the file id in the subdirectory kind
// of the store's directory (created with mode 0700), atomically and
// durably. The directory backend has no server-side leases: a ttl is
// not enforced here, the store checks the heartbeat time inside the
// record. It returns [ErrInvalidName] for a kind or id outside the
// name alphabet, and I/O errors.
func (d *dirBackend) PutRecord(ctx context.Context, kind, id string, data []byte, ttl time.Duration) error {
	dir, err := d.recordDir(kind, id)
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("%w: empty record id", ErrInvalidName)
	}
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("keystore: %w", err)
	}
	return writeFileAtomic(d.fs(), dir, id, data)
}

// Records returns the records of kind by id; none if the subdirectory
// does not exist. Files that are not records (temporary files of a
// writer) are skipped, and so are records removed while it reads.
func (d *dirBackend) Records(ctx context.Context, kind string) (map[string][]byte, error) {
	dir, err := d.recordDir(kind, "")
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	out := make(map[string][]byte, len(ents))
	for _, e := range ents {
		if !e.Type().IsRegular() || !validName(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keystore: %w", err)
		}
		out[e.Name()] = b
	}
	return out, nil
}

// DeleteRecord removes the record's file; a missing one is not an error.
func (d *dirBackend) DeleteRecord(ctx context.Context, kind, id string) error {
	dir, err := d.recordDir(kind, id)
	if err != nil {
		return err
	}
	if id == "" {
		return fmt.Errorf("%w: empty record id", ErrInvalidName)
	}
	return removeFile(d.fs(), dir, id)
}
