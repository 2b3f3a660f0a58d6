package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
)

// maxCommitAttempts bounds how often [Store.Update] runs its function on
// a [VersionedBackend] when commits keep losing races with other writers.
const maxCommitAttempts = 5

// updateVersioned is Update on a backend whose commits are conditioned on
// the manifest version read: no lock, and fn runs again on a fresh read
// when another writer committed in between.
func (s *Store) updateVersioned(ctx context.Context, vb VersionedBackend, fn func(tx *Tx) error) error {
	var lost error
	for range maxCommitAttempts {
		before := s.state.Load().m.generation
		base, version, err := s.readVersioned(ctx, vb)
		if err != nil {
			return err
		}
		tx, err := s.transact(ctx, before, base, fn)
		if tx == nil || err != nil {
			return err
		}
		err = tx.commitVersioned(ctx, vb, version)
		if !errors.Is(err, ErrConflict) {
			return err
		}
		lost = err
	}
	return fmt.Errorf("keystore: update gave up after %d commits lost to other writers: %w", maxCommitAttempts, lost)
}

// readVersioned reads the manifest with its version and every entry's
// key, reusing keys of the published state. A file missing because a
// writer committed meanwhile makes it start over, as [Store.read] does.
func (s *Store) readVersioned(ctx context.Context, vb VersionedBackend) (*storeState, int64, error) {
	var lastRaw []byte
	var lastErr error
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		raw, version, err := vb.ReadVersion(ctx, manifestName)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("%w: no %s", ErrNotExist, s.b.Locate(manifestName))
		}
		if err != nil {
			return nil, 0, err
		}
		if cur := s.state.Load(); cur != nil && bytes.Equal(cur.raw, raw) {
			return cur, version, nil
		}
		if lastErr != nil && bytes.Equal(raw, lastRaw) {
			return nil, 0, lastErr
		}
		m, err := s.parseManifest(raw)
		if err != nil {
			return nil, 0, err
		}
		st, err := s.loadKeys(ctx, m, raw)
		if err == nil {
			return st, version, nil
		}
		if !errors.Is(err, ErrMissingFile) || attempt == maxReadAttempts {
			return nil, 0, err
		}
		lastRaw, lastErr = raw, err
	}
}

// commitVersioned writes the transaction as one Commit conditioned on
// version: the new key blobs, the manifest, and the removal of key blobs
// the new manifest does not name.
func (tx *Tx) commitVersioned(ctx context.Context, vb VersionedBackend, version int64) error {
	s := tx.s
	data, next, named, err := tx.prepare()
	if err != nil {
		return err
	}
	blobs := map[string][]byte{}
	for name, b := range tx.blobs {
		if named[name] {
			blobs[name] = b
		}
	}
	var remove []string
	names, err := s.b.List(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if validBlobName(n) && !named[n] {
			remove = append(remove, n)
		}
	}
	slices.Sort(remove)
	if err := vb.Commit(ctx, manifestName, version, data, blobs, remove); err != nil {
		return err
	}
	return s.publish(next)
}
