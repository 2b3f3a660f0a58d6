package keystore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// weakStore creates a store that allows weak retained keys, with the
// 1024-bit "legacy" key as its current key: the key in use, imported to
// be renewed away from.
func weakStore(t *testing.T) (*Store, *fakeclock.Clock, string) {
	t.Helper()
	clock := fakeclock.New(t0)
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Create(context.Background(), Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now, AllowWeakRetainedKey: true})
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("legacy", fixture(testpki.Legacy), nil), tx.Rotate("legacy"))
	})
	return s, clock, dir
}

// wantWeakKeyError checks that err refuses the weak key alias with
// ErrUnsupportedKey and names the key and, where it helps, the option.
func wantWeakKeyError(t *testing.T, what string, err error, alias string, wantOption bool) {
	t.Helper()
	var ee *EntryError
	if !errors.Is(err, ErrUnsupportedKey) || !errors.As(err, &ee) || ee.Alias != alias {
		t.Fatalf("%s error = %v, want an *EntryError with ErrUnsupportedKey for %q", what, err, alias)
	}
	if !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("%s error = %q, want it to give the key size", what, err)
	}
	if got := strings.Contains(err.Error(), "Options.AllowWeakRetainedKey"); got != wantOption {
		t.Errorf("%s error = %q, names Options.AllowWeakRetainedKey: %v, want %v", what, err, got, wantOption)
	}
}

// TestWeakKey_refusedWithoutOption keeps a store without the option free of
// keys under 2048 bits, whether they come through Add or a manifest.
func TestWeakKey_refusedWithoutOption(t *testing.T) {
	t.Parallel()
	s, clock, _ := newTestStore(t)
	err := s.Update(context.Background(), func(tx *Tx) error { return tx.Add("legacy", fixture(testpki.Legacy), nil) })
	wantWeakKeyError(t, "Add(legacy)", err, "legacy", true)

	// A manifest written with the option does not open without it.
	_, _, wdir := weakStore(t)
	_, err = Open(context.Background(), Dir(wdir), PasswordValue(testPassword), Options{Now: clock.Now})
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("Open(weak key, no option) error = %v, want a *Error", err)
	}
	wantWeakKeyError(t, "Open(weak key, no option)", err, "legacy", true)
}

// TestWeakKey_neverCurrent keeps a weak key out of the current place once
// the store has another current key, whatever the path there.
func TestWeakKey_neverCurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		empty bool // start from a store without keys
		fn    func(tx *Tx) error
	}{
		{"rotate to weak pending beside a current key", false, func(tx *Tx) error {
			return errors.Join(tx.Add("legacy", fixture(testpki.Legacy), nil), tx.Rotate("legacy"))
		}},
		{"rotate back to weak retained key", false, func(tx *Tx) error {
			return errors.Join(tx.Add("legacy", fixture(testpki.Legacy), nil), tx.Retain("legacy", t0), tx.Rotate("legacy"))
		}},
		{"rotate to weak after a new current key in the same change", true, func(tx *Tx) error {
			return errors.Join(tx.Add("new", fixture(testpki.New), nil), tx.Rotate("new"), tx.Add("legacy", fixture(testpki.Legacy), nil), tx.Rotate("legacy"))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := fakeclock.New(t0)
			s, err := Create(context.Background(), Dir(filepath.Join(t.TempDir(), "store")), PasswordValue(testPassword), Options{Now: clock.Now, AllowWeakRetainedKey: true})
			if err != nil {
				t.Fatal(err)
			}
			want := "" // the current key after the refusal
			if !tc.empty {
				mustUpdate(t, s, func(tx *Tx) error { return errors.Join(tx.Add("new", fixture(testpki.New), nil), tx.Rotate("new")) })
				want = "new"
			}
			err = s.Update(context.Background(), tc.fn)
			wantWeakKeyError(t, tc.name, err, "legacy", false)
			if cur, _ := s.view().m.current(); cur.Alias != want {
				t.Errorf("current key after the refusal = %q, want %q", cur.Alias, want)
			}
		})
	}
}

// TestWeakKey_noNewWeakCertificate refuses to put a weak key into a new
// certificate or request: only a key in use may be weak.
func TestWeakKey_noNewWeakCertificate(t *testing.T) {
	t.Parallel()
	if _, err := createCertificateRequest(fixture(testpki.Legacy)); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("createCertificateRequest(legacy) error = %v, want %v", err, ErrUnsupportedKey)
	}
	s, _, _ := weakStore(t)
	err := s.Update(context.Background(), func(tx *Tx) error {
		// A pending strong key cannot take a weak key's certificate.
		if err := tx.Add("new", fixture(testpki.New), nil); err != nil {
			return err
		}
		return tx.SetCertificate("new", testpki.Load(testpki.Legacy).Certificate, nil)
	})
	if !errors.Is(err, ErrUnsupportedKey) && !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("SetCertificate(weak certificate) error = %v, want %v", err, ErrUnsupportedKey)
	}
}

// TestWeakKey_renewal renews away from a 1024-bit key in use: the store
// has no ring while it is current, keeps decrypting messages encrypted
// to it as a retained key, across a reopen, until its removal.
func TestWeakKey_renewal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock, dir := weakStore(t)
	_, err := s.KeyRing()
	wantWeakKeyError(t, "KeyRing(weak current)", err, "legacy", false)
	if !errors.Is(err, ErrNoCurrentKey) {
		t.Errorf("KeyRing(weak current) error = %v, want it to match %v", err, ErrNoCurrentKey)
	}

	// The renewal's store steps: add the new key and make it current; the
	// weak key becomes retained with no expiry.
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("new", fixture(testpki.New), nil), tx.Rotate("new"), tx.MarkProvided("new"))
	})
	toLegacy := encryptTo(t, testpki.Legacy)
	toNew := encryptTo(t, testpki.New)
	reopened, err := Open(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now, AllowWeakRetainedKey: true})
	if err != nil {
		t.Fatalf("Open(weak retained key, option) error = %v", err)
	}
	for _, st := range []*Store{s, reopened} {
		ring, err := st.KeyRing()
		if err != nil {
			t.Fatalf("KeyRing() after the rotation error = %v", err)
		}
		for name, msg := range map[string][]byte{"legacy": toLegacy, "new": toNew} {
			if _, err := (&wssec.Decryptor{Keys: ring}).Decrypt(msg); err != nil {
				t.Errorf("Decrypt(to %s) during retention error = %v", name, err)
			}
		}
	}

	// The receiver confirmed: retention runs; removal waits for it.
	mustUpdate(t, s, func(tx *Tx) error { return tx.Retain("legacy", tx.Time().Add(MinRetention)) })
	err = s.Update(ctx, func(tx *Tx) error { return tx.Remove("legacy") })
	if !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("Remove(legacy) before its expiry error = %v, want %v", err, wssec.ErrRetentionNotElapsed)
	}
	clock.Advance(MinRetention)
	mustUpdate(t, s, func(tx *Tx) error { return tx.Remove("legacy") })
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&wssec.Decryptor{Keys: ring}).Decrypt(toLegacy); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Errorf("Decrypt(to legacy) after its removal error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}
	if _, err := Open(ctx, Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now}); err != nil {
		t.Errorf("Open() without the option after the removal error = %v", err)
	}
}
