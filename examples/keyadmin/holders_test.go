package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
)

// TestRun_statusHolders checks that status lists the processes that
// follow the store and the keys each has loaded.
func TestRun_statusHolders(t *testing.T) {
	t.Parallel()
	k := newTool(t)
	k.initFixture()
	k.want(exitOK, t0, args("status"), "holders: none live")
	f, err := keystore.Follow(context.Background(), keystore.Dir(k.dir), keystore.PasswordValue(testPassword), keystore.FollowOptions{
		Store:     keystore.Options{Now: func() time.Time { return t0 }},
		HolderID:  "replica-1",
		Host:      "app-host",
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return nil, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("Follow() error = %v", err)
	}
	defer f.Close()
	k.want(exitOK, t0, args("status"),
		"holders (processes decrypting with this store's keys):",
		"replica-1  app-host",
		"tenant-2025 ok",
		"ready")
	// A minute later its heartbeat has expired (nothing ticks it here).
	k.want(exitOK, t0.Add(time.Minute), args("status"), "holders: none live")
}
