package keystore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

// A store whose manifest was lost is rebuilt from the key files left:
// every key decrypts again, the current one as named, the others retained
// until the date given or with no expiry.
func TestRebuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock, dir := ringStore(t)
	gen := s.View().Generation()
	if err := os.Remove(filepath.Join(dir, manifestName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now}); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Open() without manifest error = %v, want %v", err, ErrNotExist)
	}
	_, err := Create(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now})
	if !errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "Rebuild") {
		t.Errorf("Create() on surviving key files error = %v, want %v pointing to Rebuild", err, ErrExist)
	}
	survivors, err := FindSurvivors(ctx, Dir(dir), PasswordValue(testPassword))
	if err != nil || len(survivors) != 3 {
		t.Fatalf("FindSurvivors() = %d, %v; want 3 files", len(survivors), err)
	}

	clock.Advance(time.Hour)
	until := clock.Now().Add(MinRetention + 24*time.Hour)
	for _, tc := range []struct {
		name    string
		ro      RebuildOptions
		wantErr error
	}{
		{"no current", RebuildOptions{}, ErrUnknownAlias},
		{"unknown current", RebuildOptions{Current: "nope"}, ErrUnknownAlias},
		{"retention under the floor", RebuildOptions{Current: "new", RetainUntil: map[string]time.Time{"old": clock.Now().Add(time.Hour)}}, ErrRetentionFloor},
		{"unknown retained", RebuildOptions{Current: "new", RetainUntil: map[string]time.Time{"gone": until}}, ErrUnknownAlias},
	} {
		if _, err := Rebuild(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now}, tc.ro); !errors.Is(err, tc.wantErr) {
			t.Errorf("Rebuild(%s) error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	r, err := Rebuild(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now},
		RebuildOptions{Current: "new", RetainUntil: map[string]time.Time{"old": until}})
	if err != nil {
		t.Fatalf("Rebuild() error = %v", err)
	}
	if r.View().Generation() <= gen {
		t.Errorf("Generation() after Rebuild = %d, want above %d", r.View().Generation(), gen)
	}
	want := []view{
		{"new", StatusCurrent, time.Time{}, fingerprint(testpki.New).String(), nil},
		{"old", StatusRetained, until, fingerprint(testpki.Old).String(), nil},
		{"stranger", StatusRetained, time.Time{}, fingerprint(testpki.Stranger).String(), nil},
	}
	got := openTestStore(t, dir, clock)
	if diff := cmp.Diff(want, views(got.View().Entries())); diff != "" {
		t.Errorf("entries after Rebuild (-want +got):\n%s", diff)
	}
	for _, e := range got.View().Entries() {
		if e.Provided.IsZero() {
			t.Errorf("rebuilt entry %s is not provided", e.Alias)
		}
	}
	if _, err := got.KeyRing(); err != nil {
		t.Errorf("KeyRing() after Rebuild error = %v", err)
	}
	// The rebuilt old key keeps its retention like any other.
	err = got.Update(ctx, func(tx *Tx) error { return tx.Remove("old") })
	if err == nil {
		t.Errorf("Remove(old) before the rebuilt expiry succeeded")
	}
	if _, err := Rebuild(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now}, RebuildOptions{Current: "new"}); !errors.Is(err, ErrExist) {
		t.Errorf("Rebuild() with a manifest error = %v, want %v", err, ErrExist)
	}
}
