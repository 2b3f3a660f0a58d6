package etcdstore

import (
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
)

// A watch from a revision that was compacted away closes its channel
// after the first value, so that the follower reads the whole state
// again; a new Watch then works.
func TestBackend_Watch_compacted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cli := etcdtest.Start(t, 1).Client(t)
	b, err := New(cli, "/compaction")
	if err != nil {
		t.Fatal(err)
	}
	key := b.blobKey(manifestName)
	resp, err := cli.Put(ctx, key, "gen1")
	if err != nil {
		t.Fatal(err)
	}
	old := resp.Header.Revision
	for _, gen := range []string{"gen2", "gen3"} {
		if err := b.Write(ctx, manifestName, []byte(gen)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := etcdtest.Compact(ctx, cli); err != nil {
		t.Fatalf("Compact() error = %v", err)
	}

	ch := b.watchFrom(ctx, key, old+1)
	<-ch // the first value comes at once
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("watch from a compacted revision sent a value, want the channel closed")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch from a compacted revision stayed open")
	}

	// After the full read the follower watches again and sees new
	// commits.
	data, err := b.Read(ctx, manifestName)
	if err != nil || string(data) != "gen3" {
		t.Fatalf("Read() = %q, %v; want the latest manifest", data, err)
	}
	ch, err = b.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch() after compaction error = %v", err)
	}
	<-ch
	if err := b.Write(ctx, manifestName, []byte("gen4")); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("Watch() after compaction closed, want a value")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no value for a commit after compaction")
	}
}
