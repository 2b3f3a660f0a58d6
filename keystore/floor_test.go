package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// The store itself keeps the retention of a key that was handed out: no
// transaction removes it early, shortens its expiry or cancels it.
func TestTx_retentionFloor(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	// Each row starts from ringStore: new current (never provided), old
	// retained without expiry (provided when new became current),
	// stranger pending.
	tests := []struct {
		name    string
		setup   func(tx *Tx) error
		advance time.Duration
		fn      func(tx *Tx) error
		wantErr error
	}{
		{
			name:    "expiry in the past then remove",
			fn:      func(tx *Tx) error { return errors.Join(tx.Retain("old", t0.Add(-time.Hour)), tx.Remove("old")) },
			wantErr: ErrRetentionFloor,
		},
		{
			name:    "first expiry under the floor",
			fn:      func(tx *Tx) error { return tx.Retain("old", t0.Add(MinRetention-time.Second)) },
			wantErr: ErrRetentionFloor,
		},
		{
			name:    "shorten an expiry",
			setup:   func(tx *Tx) error { return tx.Retain("old", t0.Add(100*day)) },
			fn:      func(tx *Tx) error { return tx.Retain("old", t0.Add(95*day)) },
			wantErr: ErrRetentionFloor,
		},
		{
			name: "clear then set earlier",
			setup: func(tx *Tx) error {
				return errors.Join(tx.Retain("old", t0.Add(100*day)), tx.Retain("old", time.Time{}))
			},
			advance: 5 * day,
			fn:      func(tx *Tx) error { return tx.Retain("old", t0.Add(99*day)) },
			wantErr: ErrRetentionFloor,
		},
		{
			name:  "move later",
			setup: func(tx *Tx) error { return tx.Retain("old", t0.Add(100*day)) },
			fn:    func(tx *Tx) error { return tx.Retain("old", t0.Add(101*day)) },
		},
		{
			name:    "cancel a provided key",
			fn:      func(tx *Tx) error { return errors.Join(tx.Rotate("old"), tx.Remove("old")) },
			wantErr: ErrProvided,
		},
		{
			name:    "cancel a key marked provided",
			fn:      func(tx *Tx) error { return errors.Join(tx.MarkProvided("new"), tx.Remove("new"), tx.Rotate("old")) },
			wantErr: ErrProvided,
		},
		{
			name:    "cancel after a committed hand-out",
			setup:   func(tx *Tx) error { return tx.MarkProvided("new") },
			fn:      func(tx *Tx) error { return errors.Join(tx.Remove("new"), tx.Rotate("old")) },
			wantErr: ErrProvided,
		},
		{
			name: "cancel the current key never handed out",
			fn:   func(tx *Tx) error { return errors.Join(tx.Remove("new"), tx.Rotate("old")) },
		},
		{
			name:    "cancel the current key and leave none",
			fn:      func(tx *Tx) error { return tx.Remove("new") },
			wantErr: ErrNoCurrentKey,
		},
		{
			name:    "remove a retained key never handed out before its expiry",
			setup:   func(tx *Tx) error { return tx.Retain("stranger", t0.Add(day)) },
			fn:      func(tx *Tx) error { return tx.Remove("stranger") },
			wantErr: wssec.ErrRetentionNotElapsed,
		},
		{
			name:    "remove a retained key without expiry never handed out",
			setup:   func(tx *Tx) error { return tx.Retain("stranger", time.Time{}) },
			fn:      func(tx *Tx) error { return tx.Remove("stranger") },
			wantErr: wssec.ErrRetentionNotElapsed,
		},
		{
			name: "cancel pending",
			fn:   func(tx *Tx) error { return tx.Remove("stranger") },
		},
		{
			name:    "mark pending provided",
			fn:      func(tx *Tx) error { return tx.MarkProvided("stranger") },
			wantErr: ErrStatus,
		},
		{
			name:    "remove before the floor",
			setup:   func(tx *Tx) error { return tx.Retain("old", t0.Add(100*day)) },
			advance: 100*day - time.Second,
			fn:      func(tx *Tx) error { return tx.Remove("old") },
			wantErr: wssec.ErrRetentionNotElapsed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clock, _ := ringStore(t)
			if tc.setup != nil {
				mustUpdate(t, s, tc.setup)
			}
			gen := s.View().Generation()
			clock.Advance(tc.advance)
			err := s.Update(context.Background(), tc.fn)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update() error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && s.View().Generation() != gen {
				t.Errorf("refused Update() changed the generation from %d to %d", gen, s.View().Generation())
			}
		})
	}
}

func TestTx_retentionFloorError(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	err := s.Update(context.Background(), func(tx *Tx) error { return tx.Retain("old", t0) })
	var ee *EntryError
	if !errors.As(err, &ee) {
		t.Fatalf("Retain() error = %v, want an *EntryError for ErrRetentionFloor", err)
	}
	if ee.Alias != "old" || !ee.Expires.Equal(t0) || !ee.Earliest.Equal(t0.Add(MinRetention)) {
		t.Errorf("EntryError = %+v, want old, %v, earliest %v", ee, t0, t0.Add(MinRetention))
	}
}

// Provided and the retention floor survive a round trip through the
// manifest; a manifest written before they were recorded protects every
// key in the ring.
func TestManifest_floors(t *testing.T) {
	t.Parallel()
	s, clock, dir := ringStore(t)
	until := t0.Add(MinRetention + time.Hour)
	mustUpdate(t, s, func(tx *Tx) error { return errors.Join(tx.Retain("old", until), tx.Retain("old", time.Time{})) })
	got := openTestStore(t, dir, clock)
	old, _ := got.View().Entry("old")
	if !old.Provided.Equal(t0) || !old.RetainUntil.Equal(until) || !old.Expires.IsZero() {
		t.Errorf("old after Open = provided %v, retain until %v, expires %v; want %v, %v, zero", old.Provided, old.RetainUntil, old.Expires, t0, until)
	}
	newE, _ := got.View().Entry("new")
	if !newE.Provided.IsZero() {
		t.Errorf("new after Open provided = %v, want zero", newE.Provided)
	}

	path := filepath.Join(dir, manifestName)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "floors")
	for _, e := range m["entries"].([]any) {
		delete(e.(map[string]any), "provided")
	}
	legacy, _ := json.Marshal(m)
	if err := os.WriteFile(path, legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	old2 := openTestStore(t, dir, clock)
	for _, e := range old2.View().Entries() {
		if e.Status.inRing() && e.Provided.IsZero() {
			t.Errorf("legacy manifest: %s entry %s is not provided", e.Status, e.Alias)
		}
	}
	err = old2.Update(context.Background(), func(tx *Tx) error { return errors.Join(tx.Remove("new"), tx.Rotate("old")) })
	if !errors.Is(err, ErrProvided) {
		t.Errorf("Cancel(current key of a legacy manifest) error = %v, want %v", err, ErrProvided)
	}
}

// A clock behind the store's latest recorded time changes nothing and
// names both times.
func TestStore_Update_clockBehind(t *testing.T) {
	t.Parallel()
	s, clock, _ := ringStore(t)
	clock.Advance(time.Hour)
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetLabels("new", nil) })
	gen := s.View().Generation()
	clock.Set(t0.Add(time.Minute))
	ran := false
	err := s.Update(context.Background(), func(tx *Tx) error { ran = true; return tx.SetLabels("new", nil) })
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrClockBehind) {
		t.Fatalf("Update() with the clock behind error = %v, want a *Error", err)
	}
	if !ce.Now.Equal(t0.Add(time.Minute)) || !ce.Latest.Equal(t0.Add(time.Hour)) {
		t.Errorf("Error = %+v, want now %v, latest %v", ce, t0.Add(time.Minute), t0.Add(time.Hour))
	}
	if ran || s.View().Generation() != gen {
		t.Errorf("Update() with the clock behind ran fn = %v, generation %d (want %d)", ran, s.View().Generation(), gen)
	}
}

// TestStore_ExportCertificate_notProvided: a certificate leaves the store
// only once its hand-out is recorded, so that the key can no longer be
// cancelled: the current key of ringStore ("new", never handed out) is
// refused until MarkProvided, and then cannot be cancelled.
func TestStore_ExportCertificate_notProvided(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	if _, err := s.ExportCertificate("new"); !errors.Is(err, ErrNotProvided) {
		t.Fatalf("ExportCertificate(new) error = %v, want ErrNotProvided", err)
	}
	if _, err := s.ExportCertificate("old"); err != nil {
		t.Fatalf("ExportCertificate(old) error = %v", err)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.MarkProvided("new") })
	if _, err := s.ExportCertificate("new"); err != nil {
		t.Fatalf("ExportCertificate(new) after MarkProvided error = %v", err)
	}
	err := s.Update(context.Background(), func(tx *Tx) error { return errors.Join(tx.Remove("new"), tx.Rotate("old")) })
	if !errors.Is(err, ErrProvided) {
		t.Fatalf("Cancel(new) after the export error = %v, want ErrProvided", err)
	}
}
