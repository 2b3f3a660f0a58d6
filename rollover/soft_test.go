package rollover_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// Step 7 disables the old key for the restore window: a message to it is
// refused and recognised, RestoreKey brings it back, and the store
// destroys it on the first change after the window, with an audit record.
func TestRemoveOldKey_softRemoval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		window      time.Duration
		restore     bool
		advance     time.Duration // after step 7, before a Note
		wantEntries []string
		wantActions []string // after set-old-key-expiry
	}{
		{name: "default window, restored", restore: true,
			wantEntries: []string{"tenant-2025:retained", "tenant-2027:current"},
			wantActions: []string{"disable-old-key", "disabled-key-refused", "restore-key", "note"}},
		{name: "default window, inside it", advance: keystore.DefaultRestoreWindow - time.Second,
			wantEntries: []string{"tenant-2025:disabled", "tenant-2027:current"},
			wantActions: []string{"disable-old-key", "disabled-key-refused", "note"}},
		{name: "default window, passed", advance: keystore.DefaultRestoreWindow,
			wantEntries: []string{"tenant-2027:current"},
			wantActions: []string{"disable-old-key", "disabled-key-refused", "destroy-key", "note"}},
		{name: "one day window, passed", window: 24 * time.Hour, advance: 24 * time.Hour,
			wantEntries: []string{"tenant-2027:current"},
			wantActions: []string{"disable-old-key", "disabled-key-refused", "destroy-key", "note"}},
		{name: "no window", window: -1,
			wantEntries: []string{"tenant-2027:current"},
			wantActions: []string{"remove-old-key", "note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, rollover.Options{Policy: rollover.Policy{RestoreWindow: tt.window}})
			s := e.toSwitched("partner-a")
			e.clock.Advance(91 * day)
			must(s.RemoveOldKey(ctx))(t)
			toOld := encryptTo(t, load(testpki.Old).Certificate)
			_, err := e.decrypt(toOld)
			if !errors.Is(err, wssec.ErrNoMatchingKey) {
				t.Fatalf("Decrypt(to old) after step 7 error = %v, want %v", err, wssec.ErrNoMatchingKey)
			}
			var de *keystore.EntryError
			if got := e.store.CheckRefusal(err, nil); errors.As(got, &de) != (tt.window >= 0) {
				t.Errorf("CheckRefusal() = %v, want an EntryError with ErrKeyDisabled: %v", got, tt.window >= 0)
			}
			if got := e.m.ObserveRefusal(err); errors.Is(got, keystore.ErrKeyDisabled) != (tt.window >= 0) {
				t.Errorf("ObserveRefusal() = %v", got)
			}
			if wrote := must(e.m.RecordUsage(ctx))(t); wrote != (tt.window >= 0) {
				t.Errorf("RecordUsage() wrote = %v", wrote)
			}
			refusals := must(e.m.DisabledRefusals())(t)
			if r := refusals[fingerprint(testpki.Old)]; tt.window >= 0 && (r.Count != 1 || !r.Last.Equal(e.clock.Now())) {
				t.Errorf("DisabledRefusals() = %v, want one refusal now", refusals)
			}
			if tt.restore {
				e.restart()
				must0(t, e.m.RestoreKey(ctx, "tenant-2025"))
				if _, err := e.decrypt(toOld); err != nil {
					t.Errorf("Decrypt(to old) after RestoreKey error = %v", err)
				}
				if err := e.m.RestoreKey(ctx, "tenant-2025"); !errors.Is(err, keystore.ErrStatus) {
					t.Errorf("RestoreKey() twice error = %v, want %v", err, keystore.ErrStatus)
				}
			}
			e.clock.Advance(tt.advance)
			e.restart()
			must0(t, e.m.Note(ctx, "later"))
			if diff := cmp.Diff(tt.wantEntries, aliases(e.store)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			acts := e.actions()
			for i, a := range acts {
				if a == "set-old-key-expiry" {
					acts = acts[i+1:]
					break
				}
			}
			if diff := cmp.Diff(tt.wantActions, acts); diff != "" {
				t.Errorf("actions after set-old-key-expiry (-want +got):\n%s", diff)
			}
			if err := e.m.RestoreKey(ctx, "tenant-2027"); !errors.Is(err, keystore.ErrStatus) {
				t.Errorf("RestoreKey(current) error = %v, want %v", err, keystore.ErrStatus)
			}
		})
	}
}
