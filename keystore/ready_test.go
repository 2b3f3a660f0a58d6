package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Ready follows the follower's health: a failed reload and an expired
// holder record each make it not ready, and it is ready again once it
// has reloaded and registered.
func TestFollower_Ready(t *testing.T) {
	t.Parallel()
	x := newFollowed(t, func(d *dirBackend) Backend { return noWatch{d, d} }, FollowOptions{HolderTTL: 9 * time.Second})
	if err := x.f.Ready(); err != nil {
		t.Fatalf("Ready() after Follow = %v, want nil", err)
	}

	manifest := filepath.Join(x.dir, manifestName)
	good, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	x.tick()
	<-x.errs
	if err := x.f.Ready(); !errors.Is(err, ErrNotReady) || !errors.Is(err, ErrCorruptManifest) {
		t.Errorf("Ready() with a corrupt manifest = %v, want %v wrapping %v", err, ErrNotReady, ErrCorruptManifest)
	}
	if err := os.WriteFile(manifest, good, 0o600); err != nil {
		t.Fatal(err)
	}
	x.tick()
	if err := x.f.Ready(); err != nil {
		t.Errorf("Ready() after the repair = %v, want nil", err)
	}

	// No heartbeat for the TTL: others no longer count the holder.
	x.clock.Advance(9 * time.Second)
	if err := x.f.Ready(); !errors.Is(err, ErrNotReady) {
		t.Errorf("Ready() with an expired holder record = %v, want %v", err, ErrNotReady)
	}
	x.tick() // heart-beats
	if err := x.f.Ready(); err != nil {
		t.Errorf("Ready() after a heartbeat = %v, want nil", err)
	}
}
