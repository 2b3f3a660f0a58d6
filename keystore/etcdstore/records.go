package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// leases remembers the lease of each leased record this Backend put, so
// that the next put refreshes it instead of granting another.
type leases struct {
	mu sync.Mutex // never held across I/O
	m  map[string]lease
}

type lease struct {
	id  clientv3.LeaseID
	ttl int64
}

func newLeases() *leases { return &leases{m: map[string]lease{}} }

func (l *leases) get(key string) (lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	le, ok := l.m[key]
	return le, ok
}

func (l *leases) set(key string, le lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[key] = le
}

func (l *leases) drop(key string) (lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	le, ok := l.m[key]
	delete(l.m, key)
	return le, ok
}

func (b *Backend) recordDir(kind string) string     { return b.prefix + "/records/" + kind + "/" }
func (b *Backend) recordKey(kind, id string) string { return b.recordDir(kind) + id }

// ttlSeconds rounds ttl up to whole seconds, etcd's lease unit.
func ttlSeconds(ttl time.Duration) int64 {
	return int64((ttl + time.Second - 1) / time.Second)
}

// PutRecord creates or replaces the record "<prefix>/records/<kind>/<id>".
// With ttl > 0 the record is attached to an etcd lease of ttl, rounded up
// to whole seconds (the server raises it to its minimum, 1.5 election
// timeouts rounded up to a second, if it is lower): the Backend keeps one
// lease per record and refreshes it on each put, so the record vanishes
// when no put comes within ttl, such as when its process dies. With
// ttl == 0 the record stays until deleted.
//
// PutRecord returns [ErrInvalidArgument] for a negative ttl or an invalid
// kind or id (also [keystore.ErrInvalidName]), and errors of the client.
func (b *Backend) PutRecord(ctx context.Context, kind, id string, data []byte, ttl time.Duration) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := checkRecord(kind, id); err != nil {
		return err
	}
	if ttl < 0 {
		return fmt.Errorf("%w: record lifetime %v", ErrInvalidArgument, ttl)
	}
	key := b.recordKey(kind, id)
	if ttl == 0 {
		// A put without a lease detaches the key from its lease, which
		// then expires unused.
		b.leases.drop(key)
		if _, err := b.cli.Put(ctx, key, string(data)); err != nil {
			return fmt.Errorf("etcdstore: put record %s: %w", key, err)
		}
		return nil
	}
	secs := ttlSeconds(ttl)
	// A lease that expired between its refresh and the put makes the put
	// fail; then one new lease is granted.
	for attempt := 0; ; attempt++ {
		id, err := b.refreshLease(ctx, key, secs)
		if err != nil {
			return fmt.Errorf("etcdstore: put record %s: %w", key, err)
		}
		_, err = b.cli.Put(ctx, key, string(data), clientv3.WithLease(id))
		if err == nil {
			return nil
		}
		if !errors.Is(err, rpctypes.ErrLeaseNotFound) || attempt > 0 {
			return fmt.Errorf("etcdstore: put record %s: %w", key, err)
		}
		b.leases.drop(key)
	}
}

// refreshLease renews the record's lease, or grants a new one if there is
// none, it has another ttl, or it expired.
func (b *Backend) refreshLease(ctx context.Context, key string, secs int64) (clientv3.LeaseID, error) {
	if le, ok := b.leases.get(key); ok && le.ttl == secs {
		resp, err := b.cli.KeepAliveOnce(ctx, le.id)
		if err == nil && resp.TTL > 0 {
			return le.id, nil
		}
		if err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return 0, err
		}
	}
	resp, err := b.cli.Grant(ctx, secs)
	if err != nil {
		return 0, err
	}
	b.leases.set(key, lease{id: resp.ID, ttl: secs})
	return resp.ID, nil
}

// Records returns every record of kind by id. Leased records vanish when
// their lease expires; the server checks leases about twice a second, so
// a record may outlive its ttl by that much.
//
// Records returns [ErrInvalidArgument] for an invalid kind (also
// [keystore.ErrInvalidName]) and errors of the client.
func (b *Backend) Records(ctx context.Context, kind string) (map[string][]byte, error) {
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	if err := checkName("record kind", kind); err != nil {
		return nil, err
	}
	dir := b.recordDir(kind)
	resp, err := b.cli.Get(ctx, dir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcdstore: records %s: %w", dir, err)
	}
	recs := make(map[string][]byte, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		recs[strings.TrimPrefix(string(kv.Key), dir)] = kv.Value
	}
	return recs, nil
}

// DeleteRecord removes the record and revokes its lease, if this Backend
// granted one; a missing record is not an error.
//
// DeleteRecord returns [ErrInvalidArgument] for an invalid kind or id
// (also [keystore.ErrInvalidName]) and errors of the client.
func (b *Backend) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := b.check(ctx); err != nil {
		return err
	}
	if err := checkRecord(kind, id); err != nil {
		return err
	}
	key := b.recordKey(kind, id)
	if _, err := b.cli.Delete(ctx, key); err != nil {
		return fmt.Errorf("etcdstore: delete record %s: %w", key, err)
	}
	if le, ok := b.leases.drop(key); ok {
		// The key is gone; an unrevoked lease only expires later.
		if _, err := b.cli.Revoke(ctx, le.id); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return fmt.Errorf("etcdstore: delete record %s: revoke lease: %w", key, err)
		}
	}
	return nil
}

func checkRecord(kind, id string) error {
	if err := checkName("record kind", kind); err != nil {
		return err
	}
	return checkName("record id", id)
}
