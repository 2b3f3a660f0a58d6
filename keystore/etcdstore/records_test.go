package etcdstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestBackend_records(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newBackend(t, single(t))
	for _, r := range []struct{ kind, id, data string }{
		{"holders", "h1", "one"},
		{"holders", "h2", "two"},
		{"usage", "h1", "used"},
		{"holders", "h1", "one again"}, // replaces
	} {
		if err := b.PutRecord(ctx, r.kind, r.id, []byte(r.data), 0); err != nil {
			t.Fatalf("PutRecord(%s, %s) error = %v", r.kind, r.id, err)
		}
	}
	want := map[string][]byte{"h1": []byte("one again"), "h2": []byte("two")}
	got, err := b.Records(ctx, "holders")
	if diff := cmp.Diff(want, got); diff != "" || err != nil {
		t.Errorf("Records(holders) error = %v, (-want +got):\n%s", err, diff)
	}
	for range 2 { // deleting a missing record succeeds
		if err := b.DeleteRecord(ctx, "holders", "h2"); err != nil {
			t.Errorf("DeleteRecord() error = %v", err)
		}
	}
	got, err = b.Records(ctx, "holders")
	if diff := cmp.Diff(map[string][]byte{"h1": []byte("one again")}, got); diff != "" || err != nil {
		t.Errorf("Records(holders) after delete error = %v, (-want +got):\n%s", err, diff)
	}
	if got, err := b.Records(ctx, "none"); len(got) != 0 || err != nil {
		t.Errorf("Records(none) = %v, %v; want empty", got, err)
	}
	// Records are not blobs.
	if names, err := b.List(ctx); len(names) != 0 || err != nil {
		t.Errorf("List() = %q, %v; want no blobs", names, err)
	}
}

// Each put of a leased record refreshes one lease per record instead of
// granting another; a put without ttl detaches the record from it.
func TestBackend_PutRecord_lease(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cli := single(t)
	b := newBackend(t, cli)
	key := b.Prefix() + "/records/holders/h1"
	leaseOf := func() clientv3.LeaseID {
		t.Helper()
		resp, err := cli.Get(ctx, key)
		if err != nil || len(resp.Kvs) != 1 {
			t.Fatalf("Get(%s) = %v, %v; want the record", key, resp, err)
		}
		return clientv3.LeaseID(resp.Kvs[0].Lease)
	}
	if err := b.PutRecord(ctx, "holders", "h1", []byte("a"), time.Minute); err != nil {
		t.Fatal(err)
	}
	first := leaseOf()
	if first == clientv3.NoLease {
		t.Fatal("leased record has no lease")
	}
	ttl, err := cli.TimeToLive(ctx, first)
	if err != nil || ttl.GrantedTTL != 60 {
		t.Fatalf("TimeToLive() = %v, %v; want granted 60 s", ttl, err)
	}
	if err := b.PutRecord(ctx, "holders", "h1", []byte("b"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := leaseOf(); got != first {
		t.Errorf("second put uses lease %x, want the first one, %x", got, first)
	}
	if err := b.PutRecord(ctx, "holders", "h2", []byte("c"), time.Minute); err != nil {
		t.Fatal(err)
	}
	// A lease revoked (or expired) meanwhile is replaced.
	if _, err := cli.Revoke(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "holders", "h1", []byte("d"), time.Minute); err != nil {
		t.Fatalf("PutRecord(after revoke) error = %v", err)
	}
	if got := leaseOf(); got == first || got == clientv3.NoLease {
		t.Errorf("put after revoke uses lease %x, want a new one", got)
	}
	if err := b.PutRecord(ctx, "holders", "h1", []byte("e"), 0); err != nil {
		t.Fatal(err)
	}
	if got := leaseOf(); got != clientv3.NoLease {
		t.Errorf("put without ttl keeps lease %x", got)
	}
}

// A leased record that is not put again vanishes once its lease
// expires. This test waits for etcd's minimum lease (1 s with the test
// server's settings) and the server's expiry scan (every 0.5 s): it takes
// about two seconds, and it waits on a watch, not a sleep.
func TestBackend_PutRecord_expires(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cli := single(t)
	b := newBackend(t, cli)
	key := b.Prefix() + "/records/holders/dead"
	if err := b.PutRecord(ctx, "holders", "alive", []byte("kept"), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "holders", "dead", []byte("gone soon"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("Get() = %v, %v; want the record", resp, err)
	}
	wch := cli.Watch(ctx, key, clientv3.WithRev(resp.Header.Revision+1), clientv3.WithFilterPut())
	select {
	case wr := <-wch:
		if err := wr.Err(); err != nil || len(wr.Events) == 0 {
			t.Fatalf("watch = %v, %v; want the record's deletion", wr.Events, err)
		}
	case <-ctx.Done():
		t.Fatal("leased record still there after 30 s")
	}
	got, err := b.Records(ctx, "holders")
	if diff := cmp.Diff(map[string][]byte{"alive": []byte("kept")}, got); diff != "" || err != nil {
		t.Errorf("Records() error = %v, (-want +got):\n%s", err, diff)
	}
}
