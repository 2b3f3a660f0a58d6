package etcdstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
)

// waitTimeout bounds every wait for an etcd notification; it is reached
// only when a test fails.
const waitTimeout = 30 * time.Second

// receive waits for a value or the closing of ch and reports which.
func receive(t *testing.T, ch <-chan struct{}) (open bool) {
	t.Helper()
	select {
	case _, open = <-ch:
		return open
	case <-time.After(waitTimeout):
		t.Fatalf("no notification within %v", waitTimeout)
		return false
	}
}

func TestBackend_Watch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b := newBackend(t, single(t))
	clock := fakeclock.New(t0)
	writer := currentStore(t, b, clock)
	follower := openStore(t, b, clock)

	ch, err := b.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch() error = %v", err)
	}
	if !receive(t, ch) {
		t.Fatal("Watch() channel closed, want the first value")
	}
	// Blob and record writes that leave the manifest alone do not
	// notify; the manifest's commit does.
	if err := b.Write(ctx, "unrelated.1.p12", nil); err != nil {
		t.Fatal(err)
	}
	if err := b.PutRecord(ctx, "holders", "h1", []byte("{}"), 0); err != nil {
		t.Fatal(err)
	}
	if err := writer.Update(ctx, func(tx *keystore.Tx) error { return tx.Add("new", fixture(testpki.New), nil) }); err != nil {
		t.Fatalf("Add() error = %v", err)
	}
	if !receive(t, ch) {
		t.Fatal("Watch() channel closed, want a value for the commit")
	}
	select {
	case <-ch:
		t.Error("Watch() sent a second value for one commit")
	default:
	}
	if changed, err := follower.Reload(ctx); !changed || err != nil {
		t.Fatalf("Reload() = %v, %v; want true, nil", changed, err)
	}
	if _, err := follower.View().Entry("new"); err != nil {
		t.Errorf("Entry(new) after reload error = %v", err)
	}

	// Several commits while nobody reads coalesce into one value.
	for _, labels := range []string{"a", "b", "c"} {
		if err := writer.Update(ctx, func(tx *keystore.Tx) error {
			return tx.SetLabels("new", map[string]string{"l": labels})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !receive(t, ch) {
		t.Fatal("Watch() channel closed, want a value")
	}

	cancel()
	for receive(t, ch) {
		// a value sent before the cancellation may still be pending
	}
}
