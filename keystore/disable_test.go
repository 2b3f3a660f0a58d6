package keystore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// disabledStore returns ringStore with "old" given an expiry at
// t0+MinRetention and the clock there.
func disabledStore(t *testing.T) (*Store, *fakeclock.Clock, string) {
	t.Helper()
	s, clock, dir := ringStore(t)
	mustUpdate(t, s, func(tx *Tx) error { return tx.Retain("old", t0.Add(MinRetention)) })
	clock.Set(t0.Add(MinRetention))
	return s, clock, dir
}

func TestTx_DisableRestore(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	expiry := t0.Add(MinRetention)
	tests := []struct {
		name    string
		start   time.Time // clock; zero: expiry
		setup   func(tx *Tx) error
		advance time.Duration // after setup
		fn      func(tx *Tx) error
		wantErr error
		// want is old's status and disable times after fn; StatusPending
		// with zero times means destroyed.
		want     Status
		wantAt   time.Time
		wantDest time.Time
	}{
		{name: "disable", fn: func(tx *Tx) error { return tx.Disable("old", 7*day) },
			want: StatusDisabled, wantAt: expiry, wantDest: expiry.Add(7 * day)},
		{name: "disable before expiry", start: expiry.Add(-time.Second),
			fn: func(tx *Tx) error { return tx.Disable("old", 7*day) }, wantErr: wssec.ErrRetentionNotElapsed},
		{name: "disable current", fn: func(tx *Tx) error { return tx.Disable("new", 7*day) }, wantErr: ErrStatus},
		{name: "disable pending", fn: func(tx *Tx) error { return tx.Disable("stranger", 7*day) }, wantErr: ErrStatus},
		{name: "disable unknown", fn: func(tx *Tx) error { return tx.Disable("nobody", 7*day) }, wantErr: ErrUnknownAlias},
		{name: "negative window", fn: func(tx *Tx) error { return tx.Disable("old", -day) }, wantErr: ErrInvalidOptions},
		{name: "disable twice", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) },
			fn: func(tx *Tx) error { return tx.Disable("old", 7*day) }, wantErr: ErrStatus},
		{name: "restore", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) }, advance: 7*day - time.Second,
			fn: func(tx *Tx) error { return tx.Retain("old", expiry) }, want: StatusRetained},
		{name: "restore current", fn: func(tx *Tx) error { return tx.Retain("new", expiry) }, wantErr: ErrStatus},
		{name: "remove disabled in window", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) }, advance: day,
			fn: func(tx *Tx) error { return tx.Remove("old") }, wantErr: wssec.ErrRetentionNotElapsed},
		{name: "rotate to disabled", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) },
			fn: func(tx *Tx) error { return tx.Rotate("old") }, wantErr: ErrStatus},
		{name: "provide disabled", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) },
			fn: func(tx *Tx) error { return tx.MarkProvided("old") }, wantErr: ErrStatus},
		{name: "restore with an earlier expiry", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) },
			fn: func(tx *Tx) error { return tx.Retain("old", expiry.Add(-day)) }, wantErr: ErrRetentionFloor},
		{name: "window passed: destroyed by any change", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) }, advance: 7 * day,
			fn: func(tx *Tx) error {
				if got := tx.destroyedEntries(); len(got) != 1 || got[0].Alias != "old" {
					t.Errorf("Destroyed() = %v, want old", got)
				}
				return tx.Retain("old", expiry)
			}, wantErr: ErrUnknownAlias},
		{name: "window passed: destroyed by an empty update", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) }, advance: 7 * day,
			fn: func(tx *Tx) error { return nil }},
		{name: "no window: destroyed by the next update", setup: func(tx *Tx) error { return tx.Disable("old", 0) },
			fn: func(tx *Tx) error { return nil }},
		{name: "removed when window passed", setup: func(tx *Tx) error { return tx.Disable("old", 7*day) }, advance: 7*day - time.Second,
			fn: func(tx *Tx) error { return tx.Remove("old") }, wantErr: wssec.ErrRetentionNotElapsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, clock, dir := disabledStore(t)
			if !tt.start.IsZero() {
				clock.Set(tt.start)
			}
			if tt.setup != nil {
				mustUpdate(t, s, tt.setup)
			}
			clock.Advance(tt.advance)
			err := s.Update(context.Background(), tt.fn)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Update() error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			// What was committed survives reopening.
			reopened := openTestStore(t, dir, clock)
			var got struct {
				Status           Status
				At, Dest         time.Time
				Expires, InStore time.Time
			}
			for _, e := range reopened.View().Entries() {
				if e.Alias == "old" {
					got.Status, got.At, got.Dest, got.Expires = e.Status, e.DisabledAt, e.DestroyAfter, e.Expires
				}
			}
			want := got
			want.Status, want.At, want.Dest = tt.want, tt.wantAt, tt.wantDest
			if tt.want == 0 {
				want = got
				want.Status, want.Expires = 0, time.Time{}
			} else {
				want.Expires = expiry
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("old after Update (-want +got):\n%s", diff)
			}
		})
	}
}

// A disabled key leaves the key ring: a message encrypted to it is refused
// before any private-key operation, CheckRefusal recognises the refusal
// by every kind of key reference, and Restore brings the key back.
func TestStore_CheckRefusal(t *testing.T) {
	t.Parallel()
	s, clock, _ := disabledStore(t)
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring}
	old := testpki.Load(testpki.Old).Certificate
	ids := []wssec.KeyIdentifier{wssec.IdentifyByIssuerSerial, wssec.IdentifyByDirectReference, wssec.IdentifyByX509Certificate, wssec.IdentifyByThumbprintSHA1}
	if len(old.SubjectKeyId) > 0 {
		ids = append(ids, wssec.IdentifyBySKI)
	}
	var msgs [][]byte
	for _, id := range ids {
		m, err := (&wssec.Encryptor{Certificate: old, KeyIdentifier: id}).Encrypt([]byte(testEnvelope))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	toStranger, err := (&wssec.Encryptor{Certificate: testpki.Load(testpki.Stranger).Certificate}).Encrypt([]byte(testEnvelope))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decrypt(msgs[0]); err != nil {
		t.Fatalf("Decrypt(to old) while retained error = %v", err)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Disable("old", DefaultRestoreWindow) })
	for _, e := range ring.Snapshot() {
		if e.Name == "old" {
			t.Fatalf("disabled key still in the ring: %v", ring.Snapshot())
		}
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for i, m := range msgs {
		_, err := dec.Decrypt(m)
		if !errors.Is(err, wssec.ErrNoMatchingKey) {
			t.Fatalf("Decrypt(to disabled, identifier %d) error = %v, want %v", ids[i], err, wssec.ErrNoMatchingKey)
		}
		err = s.CheckRefusal(err, logger)
		var de *EntryError
		if !errors.As(err, &de) || !errors.Is(err, ErrKeyDisabled) || !errors.Is(err, wssec.ErrNoMatchingKey) {
			t.Fatalf("CheckRefusal(identifier %d) = %v, want an EntryError with ErrKeyDisabled", ids[i], err)
		}
		if de.Alias != "old" || !de.DestroyAfter.Equal(clock.Now().Add(DefaultRestoreWindow)) {
			t.Errorf("EntryError = %+v", de)
		}
	}
	_, err = dec.Decrypt(toStranger)
	if got := s.CheckRefusal(err, logger); errors.Is(got, ErrKeyDisabled) || !errors.Is(got, wssec.ErrNoMatchingKey) {
		t.Errorf("CheckRefusal(to a key never in the store) = %v, want the refusal unchanged", got)
	}
	if got := s.CheckRefusal(nil, logger); got != nil {
		t.Errorf("CheckRefusal(nil) = %v", got)
	}
	oldFP := wssec.FingerprintOf(testpki.Load(testpki.Old).Certificate)
	if diff := cmp.Diff(map[wssec.Fingerprint]uint64{oldFP: uint64(len(msgs))}, s.DisabledRefusals()); diff != "" {
		t.Errorf("DisabledRefusals() mismatch (-want +got):\n%s", diff)
	}
	if n := strings.Count(logs.String(), "disabled key refused"); n != len(msgs) {
		t.Errorf("%d log records, want %d:\n%s", n, len(msgs), logs.String())
	}

	clock.Advance(DefaultRestoreWindow - time.Second)
	if s.destroyDue(clock.Now()) {
		t.Error("destroyDue() inside the window = true")
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Retain("old", t0.Add(MinRetention)) })
	if _, err := dec.Decrypt(msgs[0]); err != nil {
		t.Errorf("Decrypt(to old) after Restore error = %v", err)
	}
}

// The store destroys a disabled key only after the window and never
// before its retention, and refuses a clock behind the disable time.
func TestStore_destroyDisabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock, dir := disabledStore(t)
	mustUpdate(t, s, func(tx *Tx) error { return tx.Disable("old", time.Hour) })
	disabledAt := clock.Now()

	behind := openTestStore(t, dir, fakeclock.New(disabledAt.Add(-time.Second)))
	if err := behind.Update(ctx, func(tx *Tx) error { return nil }); !errors.Is(err, ErrClockBehind) {
		t.Errorf("Update() with a clock behind the disable time error = %v, want %v", err, ErrClockBehind)
	}
	if got, err := s.destroyDisabled(ctx); err != nil || got != nil {
		t.Errorf("destroyDisabled() inside the window = %v, %v; want nothing", got, err)
	}
	clock.Advance(time.Hour)
	if !s.destroyDue(clock.Now()) {
		t.Error("destroyDue() after the window = false")
	}
	got, err := s.destroyDisabled(ctx)
	if err != nil || len(got) != 1 || got[0].Alias != "old" {
		t.Fatalf("destroyDisabled() = %v, %v; want old", got, err)
	}
	reopened := openTestStore(t, dir, clock)
	if _, err := reopened.View().Entry("old"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("Entry(old) after destruction error = %v, want %v", err, ErrUnknownAlias)
	}

	// The destruction was recorded in its commit, until a caller takes
	// the record into its own trail.
	old := wssec.FingerprintOf(testpki.Load(testpki.Old).Certificate)
	want := []Destruction{{Time: clock.Now(), Alias: "old", Fingerprint: old, DisabledAt: disabledAt, DestroyAfter: disabledAt.Add(time.Hour)}}
	if diff := cmp.Diff(want, destructions(t, reopened)); diff != "" {
		t.Errorf("Destructions() after reopening (-want +got):\n%s", diff)
	}
	var taken []Destruction
	mustUpdate(t, reopened, func(tx *Tx) error {
		var err error
		taken, err = tx.TakeDestructions()
		return err
	})
	if diff := cmp.Diff(want, taken); diff != "" {
		t.Errorf("TakeDestructions() (-want +got):\n%s", diff)
	}
	if got := destructions(t, openTestStore(t, dir, clock)); len(got) != 0 {
		t.Errorf("Destructions() after TakeDestructions = %v, want none", got)
	}
	err = s.Update(ctx, func(tx *Tx) error { return tx.SetState(destroyedName, []byte(`{}`)) })
	if !errors.Is(err, ErrInvalidName) {
		t.Errorf("SetState(%s) error = %v, want %v", destroyedName, err, ErrInvalidName)
	}
}

// A manifest cannot claim a disabled key without its times, nor disable
// times on another status.
func TestCheckEntries_disabled(t *testing.T) {
	t.Parallel()
	base := Entry{Alias: "a", Status: StatusDisabled, Created: t0, Expires: t0, DisabledAt: t0, DestroyAfter: t0.Add(time.Hour), Location: "blob:a"}
	tests := []struct {
		name string
		mod  func(e *Entry)
		ok   bool
	}{
		{"valid", func(e *Entry) {}, true},
		{"no disabled time", func(e *Entry) { e.DisabledAt = time.Time{} }, false},
		{"destroy before disable", func(e *Entry) { e.DestroyAfter = t0.Add(-time.Hour) }, false},
		{"no expiry", func(e *Entry) { e.Expires = time.Time{} }, false},
		{"times on retained", func(e *Entry) { e.Status = StatusRetained }, false},
	}
	for _, tt := range tests {
		e := base
		tt.mod(&e)
		if err := checkDisabled(e); (err == nil) != tt.ok {
			t.Errorf("%s: checkDisabled() error = %v", tt.name, err)
		}
	}
}

// A follower's tick destroys a disabled key once its window has passed,
// and not before.
func TestFollow_destroysDisabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	x := newFollowed(t, nil, FollowOptions{})
	x.renew(t)
	mustUpdate(t, x.writer, func(tx *Tx) error { return tx.Retain("old", x.clock.Now().Add(MinRetention)) })
	x.clock.Advance(MinRetention)
	mustUpdate(t, x.writer, func(tx *Tx) error { return tx.Disable("old", time.Hour) })
	gen := x.writer.View().Generation()
	x.tick()
	x.clock.Advance(time.Hour - time.Second)
	x.tick()
	if _, err := x.writer.Reload(ctx); err != nil || x.writer.View().Generation() != gen {
		t.Fatalf("tick inside the window changed the store: generation %d, want %d (%v)", x.writer.View().Generation(), gen, err)
	}
	x.clock.Advance(time.Second)
	x.tick()
	if _, err := x.writer.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := x.writer.View().Entry("old"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("Entry(old) after the follower's tick error = %v, want %v", err, ErrUnknownAlias)
	}
	got := destructions(t, x.writer)
	if len(got) != 1 || got[0].Alias != "old" || !got[0].Time.Equal(x.clock.Now()) {
		t.Errorf("Destructions() after the follower's tick = %+v, want old's at %v", got, x.clock.Now())
	}
}
