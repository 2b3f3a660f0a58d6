package etcdstore

import (
	"strconv"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
)

// A watch from a revision that was compacted away closes its channel
// after the first value, so that the follower reads the whole state
// again: its Reload sees the latest commit, and a new Watch sees the
// commits after it.
func TestBackend_Watch_compacted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cli := etcdtest.Start(t, 1).Client(t)
	b, err := New(cli, "/compaction")
	if err != nil {
		t.Fatal(err)
	}
	password := keystore.PasswordValue("store-password-for-tests")
	writer, err := keystore.Create(ctx, b, password, keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	old := testpki.Load(testpki.Old)
	if err := writer.Update(ctx, func(tx *keystore.Tx) error {
		return tx.Add("old", &keystore.Credential{Key: old.Key, Certificate: old.Certificate}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	follower, err := keystore.Open(ctx, b, password, keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, since, err := b.ReadVersion(ctx, manifestName)
	if err != nil {
		t.Fatal(err)
	}
	setLabel := func(v string) {
		t.Helper()
		if err := writer.Update(ctx, func(tx *keystore.Tx) error {
			return tx.SetLabels("old", map[string]string{"v": v})
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		setLabel(strconv.Itoa(i))
	}
	if _, err := etcdtest.Compact(ctx, cli); err != nil {
		t.Fatalf("Compact() error = %v", err)
	}

	// The follower was watching from the revision it had read.
	ch := b.watchFrom(ctx, b.blobKey(manifestName), since+1)
	<-ch // the first value comes at once
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("watch from a compacted revision sent a value, want the channel closed")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch from a compacted revision stayed open")
	}

	if changed, err := follower.Reload(ctx); !changed || err != nil {
		t.Fatalf("Reload() = %v, %v; want true, nil", changed, err)
	}
	if got, want := follower.View().Generation(), writer.View().Generation(); got != want {
		t.Errorf("follower's generation after Reload = %d, want the latest, %d", got, want)
	}
	ch, err = b.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch() after compaction error = %v", err)
	}
	<-ch
	setLabel("after")
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("Watch() after compaction closed, want a value")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no value for a commit after compaction")
	}
}
