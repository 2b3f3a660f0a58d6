package etcdstore

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/wsrenew/wsrenew/keystore"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// maxNameLen bounds blob names, record kinds and ids.
const maxNameLen = 255

// lockTTL is the lease of the writer lock, in seconds: how long a lock of
// a process that died stays taken.
const lockTTL = 10

// Backend keeps a key store under a key prefix of an etcd v3 cluster. It
// implements [keystore.Backend], [keystore.VersionedBackend],
// [keystore.Watcher] and [keystore.RecordBackend].
//
// Every method returns [ErrInvalidArgument] for a nil context or a
// Backend not made by [New], ctx's error when ctx ends before or during
// the call, and errors of the etcd client wrapped with %w; the method
// docs name the others.
//
// A Backend is safe for concurrent use, also by several processes and
// machines sharing the prefix. It does not own the client: close the
// client after the last use of the Backend.
type Backend struct {
	cli    *clientv3.Client
	prefix string
	leases *leases
}

// New returns the backend for the store under prefix (such as
// "/wsrenew/partner-a"; a trailing '/' is dropped) of the cluster the
// client talks to. It does not contact the cluster. Stores under
// different prefixes are independent, provided neither prefix is the
// other followed by "/blobs" or "/records".
//
// New returns [ErrInvalidArgument] if client is nil or prefix is empty or
// holds a NUL byte.
func New(client *clientv3.Client, prefix string) (*Backend, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidArgument)
	}
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" || strings.ContainsRune(prefix, 0) {
		return nil, fmt.Errorf("%w: prefix %q", ErrInvalidArgument, prefix)
	}
	return &Backend{cli: client, prefix: prefix, leases: newLeases()}, nil
}

// Prefix returns the key prefix, without a trailing '/'.
func (b *Backend) Prefix() string { return b.prefix }

func (b *Backend) blobKey(name string) string { return b.prefix + "/blobs/" + name }
func (b *Backend) blobDir() string            { return b.prefix + "/blobs/" }
func (b *Backend) lockKey() string            { return b.prefix + "/lock" }

// check refuses a nil Backend or context and an ended context.
func (b *Backend) check(ctx context.Context) error {
	if b == nil || b.cli == nil {
		return fmt.Errorf("%w: use New to get a Backend", ErrInvalidArgument)
	}
	if ctx == nil {
		return fmt.Errorf("%w: nil Context", ErrInvalidArgument)
	}
	return ctx.Err()
}

// checkName returns an error wrapping [keystore.ErrInvalidName] unless
// name uses the blob name alphabet.
func checkName(what, name string) error {
	ok := name != "" && len(name) <= maxNameLen && isAlnum(name[0])
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = isAlnum(c) || c == '.' || c == '_' || c == '-'
	}
	if !ok {
		return fmt.Errorf("%w: %w: %s %q", ErrInvalidArgument, keystore.ErrInvalidName, what, name)
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Init does nothing: etcd needs no preparation. It returns ctx's error.
func (b *Backend) Init(ctx context.Context) error {
	return b.check(ctx)
}

// Lock takes the writer lock, a [concurrency.Mutex] on the key
// "<prefix>/lock" held by a lease of 10 seconds that a background
// goroutine keeps alive until the returned function is called. It waits
// until the lock is free or ctx is done. The returned function releases
// the lock; calling it again does nothing and returns the same error.
//
// A lease-based lock can lapse while its holder is paused, so
// [keystore.Store.Update] does not rely on it on this backend: it commits
// with [Backend.Commit], conditioned on the manifest it read. The lock
// serializes [keystore.Create] and other callers that want it.
func (b *Backend) Lock(ctx context.Context) (func() error, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	// The session outlives ctx, which bounds only the wait.
	sess, err := concurrency.NewSession(b.cli, concurrency.WithTTL(lockTTL), concurrency.WithContext(context.WithoutCancel(ctx)))
	if err != nil {
		return nil, fmt.Errorf("etcdstore: lock %s: %w", b.lockKey(), err)
	}
	mu := concurrency.NewMutex(sess, b.lockKey())
	if err := mu.Lock(ctx); err != nil {
		sess.Close()
		return nil, fmt.Errorf("etcdstore: lock %s: %w", b.lockKey(), err)
	}
	var once sync.Once
	var unlockErr error
	unlock := func() error {
		once.Do(func() {
			// Closing the session revokes its lease, which releases the
			// lock even if Unlock fails.
			uerr := mu.Unlock(context.WithoutCancel(ctx))
			if err := sess.Close(); err != nil {
				unlockErr = fmt.Errorf("etcdstore: unlock %s: %w", b.lockKey(), err)
			} else if uerr != nil {
				unlockErr = fmt.Errorf("etcdstore: unlock %s: %w", b.lockKey(), uerr)
			}
		})
		return unlockErr
	}
	return unlock, nil
}

// Read returns the blob's content, or an error wrapping [fs.ErrNotExist]
// if there is no such blob. The read is linearizable.
func (b *Backend) Read(ctx context.Context, name string) ([]byte, error) {
	data, _, err := b.ReadVersion(ctx, name)
	return data, err
}

// ReadVersion returns the blob and its version, the ModRevision of its
// key. A missing blob returns version 0 and an error wrapping
// [fs.ErrNotExist].
func (b *Backend) ReadVersion(ctx context.Context, name string) ([]byte, int64, error) {
	if err := b.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkName("blob", name); err != nil {
		return nil, 0, err
	}
	key := b.blobKey(name)
	resp, err := b.cli.Get(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("etcdstore: read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, fmt.Errorf("etcdstore: read %s: %w", key, fs.ErrNotExist)
	}
	kv := resp.Kvs[0]
	return kv.Value, kv.ModRevision, nil
}

// Write creates or replaces the blob with data. etcd acknowledges a put
// once a majority of members has it on disk, so it is atomic and durable.
func (b *Backend) Write(ctx context.Context, name string, data []byte) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := checkName("blob", name); err != nil {
		return err
	}
	key := b.blobKey(name)
	if _, err := b.cli.Put(ctx, key, string(data)); err != nil {
		return fmt.Errorf("etcdstore: write %s: %w", key, err)
	}
	return nil
}

// Remove deletes the blob; removing a missing blob succeeds.
func (b *Backend) Remove(ctx context.Context, name string) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := checkName("blob", name); err != nil {
		return err
	}
	key := b.blobKey(name)
	if _, err := b.cli.Delete(ctx, key); err != nil {
		return fmt.Errorf("etcdstore: remove %s: %w", key, err)
	}
	return nil
}

// List returns the names of all blobs, the manifest included, in
// lexical order. Records are not blobs and are not listed.
func (b *Backend) List(ctx context.Context) ([]string, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	dir := b.blobDir()
	resp, err := b.cli.Get(ctx, dir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, fmt.Errorf("etcdstore: list %s: %w", dir, err)
	}
	names := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		names = append(names, strings.TrimPrefix(string(kv.Key), dir))
	}
	return names, nil
}

// Locate returns "etcd:" followed by the blob's key.
func (b *Backend) Locate(name string) string {
	if b == nil {
		return "etcd:" + name
	}
	return "etcd:" + b.blobKey(name)
}

// Commit writes every blob of blobs, removes every blob of remove and
// writes name=data in one etcd transaction, provided the ModRevision of
// name is still version (0: name must not exist). Otherwise it writes
// nothing and returns an error wrapping [keystore.ErrConflict].
//
// Commit returns [ErrInvalidArgument] if remove names name or a blob of
// blobs, or if a name is invalid (also [keystore.ErrInvalidName]). The
// transaction must fit etcd's limits (by default 128 operations and
// 1.5 MiB); a store's commits are far smaller. Commit keeps no reference
// to its arguments.
func (b *Backend) Commit(ctx context.Context, name string, version int64, data []byte, blobs map[string][]byte, remove []string) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := checkName("blob", name); err != nil {
		return err
	}
	if version < 0 {
		return fmt.Errorf("%w: version %d", ErrInvalidArgument, version)
	}
	var ops []clientv3.Op
	for _, n := range slices.Sorted(maps.Keys(blobs)) {
		if err := checkName("blob", n); err != nil {
			return err
		}
		if n == name {
			return fmt.Errorf("%w: commit writes %s twice", ErrInvalidArgument, n)
		}
		ops = append(ops, clientv3.OpPut(b.blobKey(n), string(blobs[n])))
	}
	removed := map[string]bool{}
	for _, n := range remove {
		if err := checkName("blob", n); err != nil {
			return err
		}
		if _, ok := blobs[n]; ok || n == name {
			return fmt.Errorf("%w: commit writes and removes %s", ErrInvalidArgument, n)
		}
		if !removed[n] {
			removed[n] = true
			ops = append(ops, clientv3.OpDelete(b.blobKey(n)))
		}
	}
	key := b.blobKey(name)
	ops = append(ops, clientv3.OpPut(key, string(data)))
	// A key that does not exist compares as ModRevision 0.
	resp, err := b.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", version)).
		Then(ops...).
		Commit()
	if err != nil {
		return fmt.Errorf("etcdstore: commit %s: %w", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("etcdstore: commit %s at version %d: %w", key, version, keystore.ErrConflict)
	}
	return nil
}
