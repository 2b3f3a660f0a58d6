package etcdstore_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The Backend offers every optional interface of keystore.
var (
	_ keystore.VersionedBackend = (*etcdstore.Backend)(nil)
	_ keystore.Watcher          = (*etcdstore.Backend)(nil)
	_ keystore.RecordBackend    = (*etcdstore.Backend)(nil)
)

func TestNew(t *testing.T) {
	t.Parallel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, tc := range []struct {
		name       string
		cli        *clientv3.Client
		prefix     string
		wantErr    error
		wantPrefix string
	}{
		{name: "ok", cli: cli, prefix: "/a/b", wantPrefix: "/a/b"},
		{name: "trailing slash", cli: cli, prefix: "/a/b//", wantPrefix: "/a/b"},
		{name: "nil client", prefix: "/a", wantErr: etcdstore.ErrInvalidArgument},
		{name: "empty prefix", cli: cli, prefix: "", wantErr: etcdstore.ErrInvalidArgument},
		{name: "only slashes", cli: cli, prefix: "//", wantErr: etcdstore.ErrInvalidArgument},
		{name: "NUL", cli: cli, prefix: "/a\x00", wantErr: etcdstore.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := etcdstore.New(tc.cli, tc.prefix)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("New(%q) error = %v, want %v", tc.prefix, err, tc.wantErr)
			}
			if err == nil && b.Prefix() != tc.wantPrefix {
				t.Errorf("Prefix() = %q, want %q", b.Prefix(), tc.wantPrefix)
			}
		})
	}
}

func TestBackend_blobs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newBackend(t, single(t))
	if err := b.Init(ctx); err != nil {
		t.Fatalf("Init() error = %v", err)
	}
	if _, err := b.Read(ctx, "a.1.p12"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) error = %v, want %v", err, fs.ErrNotExist)
	}
	if _, v, err := b.ReadVersion(ctx, "manifest.json"); !errors.Is(err, fs.ErrNotExist) || v != 0 {
		t.Errorf("ReadVersion(missing) = %d, %v; want 0, %v", v, err, fs.ErrNotExist)
	}
	for _, name := range []string{"a.1.p12", "manifest.json", "b.2.p12"} {
		if err := b.Write(ctx, name, []byte("data of "+name)); err != nil {
			t.Fatalf("Write(%s) error = %v", name, err)
		}
	}
	// A record is not a blob.
	if err := b.PutRecord(ctx, "holders", "h1", []byte("{}"), 0); err != nil {
		t.Fatalf("PutRecord() error = %v", err)
	}
	names, err := b.List(ctx)
	if diff := cmp.Diff([]string{"a.1.p12", "b.2.p12", "manifest.json"}, names); diff != "" || err != nil {
		t.Errorf("List() error = %v, names (-want +got):\n%s", err, diff)
	}
	got, err := b.Read(ctx, "b.2.p12")
	if err != nil || string(got) != "data of b.2.p12" {
		t.Errorf("Read(b.2.p12) = %q, %v; want its data", got, err)
	}
	for range 2 { // removing a missing blob succeeds
		if err := b.Remove(ctx, "b.2.p12"); err != nil {
			t.Errorf("Remove() error = %v", err)
		}
	}
	if _, err := b.Read(ctx, "b.2.p12"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(removed) error = %v, want %v", err, fs.ErrNotExist)
	}
	if got, want := b.Locate("a.1.p12"), "etcd:"+b.Prefix()+"/blobs/a.1.p12"; got != want {
		t.Errorf("Locate() = %q, want %q", got, want)
	}
}

func TestBackend_errors(t *testing.T) {
	t.Parallel()
	b := newBackend(t, single(t))
	ctx := t.Context()
	ended, cancel := context.WithCancel(ctx)
	cancel()
	var nilCtx context.Context
	var zero *etcdstore.Backend
	for _, tc := range []struct {
		name    string
		op      func() error
		wantErr error
	}{
		{"Read invalid name", func() error { _, err := b.Read(ctx, "../x"); return err }, keystore.ErrInvalidName},
		{"Write empty name", func() error { return b.Write(ctx, "", nil) }, keystore.ErrInvalidName},
		{"Write leading dot", func() error { return b.Write(ctx, ".lock", nil) }, etcdstore.ErrInvalidArgument},
		{"Remove slash", func() error { return b.Remove(ctx, "a/b") }, keystore.ErrInvalidName},
		{"Read nil context", func() error { _, err := b.Read(nilCtx, "a"); return err }, etcdstore.ErrInvalidArgument},
		{"Write ended context", func() error { return b.Write(ended, "a", nil) }, context.Canceled},
		{"List ended context", func() error { _, err := b.List(ended); return err }, context.Canceled},
		{"Lock ended context", func() error { _, err := b.Lock(ended); return err }, context.Canceled},
		{"Watch nil context", func() error { _, err := b.Watch(nilCtx); return err }, etcdstore.ErrInvalidArgument},
		{"zero Backend", func() error { _, err := zero.List(ctx); return err }, etcdstore.ErrInvalidArgument},
		{"Commit writes and removes", func() error {
			return b.Commit(ctx, "manifest.json", 0, nil, map[string][]byte{"a": nil}, []string{"a"})
		}, etcdstore.ErrInvalidArgument},
		{"Commit removes manifest", func() error {
			return b.Commit(ctx, "manifest.json", 0, nil, nil, []string{"manifest.json"})
		}, etcdstore.ErrInvalidArgument},
		{"Commit invalid blob", func() error {
			return b.Commit(ctx, "manifest.json", 0, nil, map[string][]byte{"a b": nil}, nil)
		}, keystore.ErrInvalidName},
		{"Commit negative version", func() error { return b.Commit(ctx, "manifest.json", -1, nil, nil, nil) }, etcdstore.ErrInvalidArgument},
		{"PutRecord negative ttl", func() error { return b.PutRecord(ctx, "holders", "h", nil, -time.Second) }, etcdstore.ErrInvalidArgument},
		{"PutRecord invalid kind", func() error { return b.PutRecord(ctx, "hol/ders", "h", nil, 0) }, keystore.ErrInvalidName},
		{"Records invalid kind", func() error { _, err := b.Records(ctx, ""); return err }, keystore.ErrInvalidName},
		{"DeleteRecord invalid id", func() error { return b.DeleteRecord(ctx, "holders", "-h") }, keystore.ErrInvalidName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(); !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
		})
	}
	// Nothing of the refused commits was written.
	if names, err := b.List(ctx); len(names) != 0 || err != nil {
		t.Errorf("List() = %q, %v; want nothing", names, err)
	}
}

func TestBackend_Commit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b := newBackend(t, single(t))
	const m = "manifest.json"

	// Version 0: the manifest must not exist yet.
	if err := b.Commit(ctx, m, 0, []byte("gen1"), map[string][]byte{"a.1.p12": []byte("A")}, nil); err != nil {
		t.Fatalf("Commit(create) error = %v", err)
	}
	if err := b.Commit(ctx, m, 0, []byte("again"), nil, nil); !errors.Is(err, keystore.ErrConflict) {
		t.Fatalf("Commit(create again) error = %v, want %v", err, keystore.ErrConflict)
	}
	data, v1, err := b.ReadVersion(ctx, m)
	if err != nil || string(data) != "gen1" || v1 == 0 {
		t.Fatalf("ReadVersion() = %q, %d, %v; want gen1", data, v1, err)
	}

	// Two writers read v1; the first commits, the second conflicts and
	// writes nothing, neither its blob nor its removal.
	if err := b.Commit(ctx, m, v1, []byte("gen2"), map[string][]byte{"b.2.p12": []byte("B")}, []string{"a.1.p12"}); err != nil {
		t.Fatalf("Commit(first) error = %v", err)
	}
	err = b.Commit(ctx, m, v1, []byte("lost"), map[string][]byte{"c.2.p12": []byte("C")}, []string{"b.2.p12"})
	if !errors.Is(err, keystore.ErrConflict) {
		t.Fatalf("Commit(second) error = %v, want %v", err, keystore.ErrConflict)
	}
	names, err := b.List(ctx)
	if diff := cmp.Diff([]string{"b.2.p12", m}, names); diff != "" || err != nil {
		t.Errorf("List() error = %v, names (-want +got):\n%s", err, diff)
	}
	data, v2, err := b.ReadVersion(ctx, m)
	if err != nil || string(data) != "gen2" || v2 <= v1 {
		t.Errorf("ReadVersion() = %q, %d, %v; want gen2 after version %d", data, v2, err, v1)
	}
	// An unconditioned write also changes the version.
	if err := b.Write(ctx, m, []byte("gen3")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx, m, v2, []byte("stale"), nil, nil); !errors.Is(err, keystore.ErrConflict) {
		t.Errorf("Commit(after Write) error = %v, want %v", err, keystore.ErrConflict)
	}
}

// A writer whose lock lapsed while it was paused (here: its lease is
// revoked, as if it expired) cannot write over the state another writer
// committed after taking the lock over: its commit is conditioned on the
// manifest version it read.
func TestBackend_pausedWriter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cli := single(t)
	b := newBackend(t, cli)
	const m = "manifest.json"
	if err := b.Commit(ctx, m, 0, []byte("gen1"), nil, nil); err != nil {
		t.Fatal(err)
	}

	unlock1, err := b.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock() error = %v", err)
	}
	defer unlock1()
	_, v, err := b.ReadVersion(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// While writer 1 holds the lock, writer 2 waits.
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock(held) error = %v, want %v", err, context.DeadlineExceeded)
	}

	// Writer 1 pauses past its lease.
	leases, err := cli.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Leases {
		if _, err := cli.Revoke(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	unlock2, err := b.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock(after lapse) error = %v", err)
	}
	if err := b.Commit(ctx, m, v, []byte("gen2 by writer 2"), nil, nil); err != nil {
		t.Fatalf("Commit(writer 2) error = %v", err)
	}
	for range 2 { // a second call does nothing
		if err := unlock2(); err != nil {
			t.Errorf("unlock() error = %v", err)
		}
	}

	// Writer 1 wakes up and commits what it prepared.
	if err := b.Commit(ctx, m, v, []byte("gen2 by writer 1"), map[string][]byte{"x.2.p12": nil}, nil); !errors.Is(err, keystore.ErrConflict) {
		t.Fatalf("Commit(paused writer) error = %v, want %v", err, keystore.ErrConflict)
	}
	if data, err := b.Read(ctx, m); err != nil || string(data) != "gen2 by writer 2" {
		t.Errorf("Read() = %q, %v; want writer 2's manifest", data, err)
	}
	if _, err := b.Read(ctx, "x.2.p12"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(paused writer's blob) error = %v, want %v", err, fs.ErrNotExist)
	}
}
