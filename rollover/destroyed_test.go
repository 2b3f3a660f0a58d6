package rollover_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// A key a follower's tick destroys once its restore window passed is in
// the Manager's history at once, and the next change moves the record
// into the trail without a second one.
func TestHistory_followerDestroys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{RestoreWindow: 24 * time.Hour}})
	s := e.toSwitched("partner-a")
	e.clock.Advance(91 * day)
	must(s.RemoveOldKey(ctx))(t)
	disabledAt := e.clock.Now()

	ticks := make(chan time.Time)
	f, err := keystore.Follow(ctx, keystore.Dir(e.dir), keystore.PasswordValue(testPassword), keystore.FollowOptions{
		Store:     keystore.Options{Now: e.clock.Now},
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("Follow() error = %v", err)
	}
	defer f.Close()
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} } // the second waits for the first

	e.clock.Advance(24 * time.Hour)
	tick()
	e.restart()
	if diff := cmp.Diff([]string{"tenant-2027:current"}, aliases(e.store)); diff != "" {
		t.Fatalf("entries after the follower's tick (-want +got):\n%s", diff)
	}
	h := must(rollover.History(e.store))(t)
	last := h[len(h)-1]
	want := rollover.Record{Time: disabledAt.Add(24 * time.Hour), Renewal: 1, Action: rollover.ActionDestroyKey,
		OldKey: fingerprint(testpki.Old), // the renewal ended at step 7
		Note:   "tenant-2025 destroyed; disabled " + disabledAt.Format(time.RFC3339) + ", restore window ended " + disabledAt.Add(24*time.Hour).Format(time.RFC3339)}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("last History() record after the follower's tick (-want +got):\n%s", diff)
	}

	e.clock.Advance(time.Hour)
	must0(t, e.m.Note(ctx, "later"))
	e.restart()
	acts := e.actions()
	if diff := cmp.Diff([]string{"disable-old-key", "destroy-key", "note"}, acts[len(acts)-3:]); diff != "" {
		t.Errorf("last actions after a change (-want +got):\n%s", diff)
	}
	h = must(rollover.History(e.store))(t)
	if diff := cmp.Diff(want, h[len(h)-2]); diff != "" {
		t.Errorf("destroy-key record in the trail (-want +got):\n%s", diff)
	}
	if got := must(e.store.Destructions())(t); len(got) != 0 {
		t.Errorf("Destructions() after the change = %v, want none: the trail holds them", got)
	}
	if len(e.logs.Lines("rollover: destroy-key")) != 1 {
		t.Error("the change did not log the destruction it moved into the trail once")
	}
}
