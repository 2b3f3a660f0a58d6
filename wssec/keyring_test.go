package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestNewKeyRingOptions_invalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  wssec.Key
	}{
		{"zero", wssec.Key{}},
		{"no decrypter", wssec.Key{Certificate: oldID.Certificate}},
		{"no certificate", wssec.Key{Decrypter: oldID.Key}},
		{"mismatch", wssec.Key{Decrypter: oldID.Key, Certificate: newID.Certificate}},
		{"nil public", wssec.Key{Decrypter: nilPublic{}, Certificate: oldID.Certificate}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := wssec.NewKeyRingOptions(tc.key, wssec.RingOptions{}); !errors.Is(err, wssec.ErrInvalidKey) {
				t.Fatalf("NewKeyRingOptions(%s) error = %v, want %v", tc.name, err, wssec.ErrInvalidKey)
			}
			r := wssec.NewKeyRing(tc.key)
			if _, ok := r.Current(); ok || len(r.Snapshot()) != 0 {
				t.Fatalf("NewKeyRing(%s) has a current key, want an empty ring", tc.name)
			}
			var ke *wssec.KeyError
			if err := r.Err(); !errors.Is(err, wssec.ErrInvalidKey) || !errors.As(err, &ke) || ke.Reason == "" {
				t.Fatalf("NewKeyRing(%s).Err() = %v, want a *KeyError for %v", tc.name, err, wssec.ErrInvalidKey)
			}
			d := &wssec.Decryptor{Keys: r}
			out := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response11.xml"))
			if _, err := d.Decrypt(out); err != r.Err() {
				t.Fatalf("Decrypt with invalid ring error = %v, want %v", err, r.Err())
			}
			plain := &wssec.Decryptor{Keys: r, Policy: wssec.Policy{AllowPlaintextBody: true}}
			if _, err := plain.Decrypt(readTestdata(t, "response11.xml")); !errors.Is(err, wssec.ErrInvalidKey) {
				t.Fatalf("Decrypt(plaintext) with invalid ring error = %v, want %v", err, wssec.ErrInvalidKey)
			}
			if err := r.Rotate(keyOf(oldID)); err != nil {
				t.Fatalf("Rotate on empty ring error = %v", err)
			}
			if err := r.Err(); err != nil {
				t.Fatalf("Err() after Rotate = %v, want nil", err)
			}
			if _, err := d.Decrypt(out); err != nil {
				t.Fatalf("Decrypt after Rotate error = %v", err)
			}
		})
	}
}

// TestDecrypt_misuse checks that a nil Decryptor, a Decryptor without
// Keys and a nil ring report ErrInvalidArgument, not a property of the
// message.
func TestDecrypt_misuse(t *testing.T) {
	t.Parallel()
	out := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response11.xml"))
	var nilRing *wssec.KeyRing
	tests := []struct {
		name string
		call func() error
	}{
		{"nil Decryptor", func() error { _, err := (*wssec.Decryptor)(nil).Decrypt(out); return err }},
		{"nil Decryptor reader", func() error { _, err := (*wssec.Decryptor)(nil).DecryptReader(bytes.NewReader(out)); return err }},
		{"no Keys", func() error { _, err := (&wssec.Decryptor{}).Decrypt(out); return err }},
		{"nil ring Rotate", func() error { return nilRing.Rotate(keyOf(oldID)) }},
		{"nil ring Remove", func() error { return nilRing.Remove(oldID.Certificate) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.call(); !errors.Is(err, wssec.ErrInvalidArgument) {
				t.Fatalf("%s error = %v, want %v", tc.name, err, wssec.ErrInvalidArgument)
			}
		})
	}
	if err := nilRing.Err(); err != nil {
		t.Fatalf("nil KeyRing Err() = %v, want nil", err)
	}
}

type nilPublic struct{}

func (nilPublic) Public() crypto.PublicKey { return nil }
func (nilPublic) Decrypt(_ io.Reader, _ []byte, _ crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("no")
}

func TestKeyRing_lifecycle(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(t0)
	r, err := wssec.NewKeyRingOptions(keyOf(oldID), wssec.RingOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Retain(keyOf(oldID), time.Time{}); !errors.Is(err, wssec.ErrDuplicateKey) {
		t.Fatalf("Retain(current) error = %v, want %v", err, wssec.ErrDuplicateKey)
	}
	if err := r.Rotate(keyOf(oldID)); !errors.Is(err, wssec.ErrCurrentKey) {
		t.Fatalf("Rotate(current) error = %v, want %v", err, wssec.ErrCurrentKey)
	}
	if err := r.Rotate(keyOf(newID)); err != nil {
		t.Fatalf("Rotate(new) error = %v", err)
	}
	type row struct {
		Name    string
		Status  wssec.Status
		Expires time.Time
	}
	rows := func() []row {
		var out []row
		for _, e := range r.Snapshot() {
			out = append(out, row{e.Name, e.Status, e.Expires})
		}
		return out
	}
	want := []row{{"new", wssec.StatusCurrent, time.Time{}}, {"old", wssec.StatusRetained, time.Time{}}}
	if diff := cmp.Diff(want, rows()); diff != "" {
		t.Fatalf("after Rotate, Snapshot() mismatch (-want +got):\n%s", diff)
	}

	// No expiry yet: a receiver may still use the old key.
	var re *wssec.KeyError
	if err := r.Remove(oldID.Certificate); !errors.As(err, &re) || !re.AllowedAt.IsZero() || !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("Remove(old) without expiry error = %v, want a *KeyError with zero AllowedAt", err)
	}
	if err := r.SetExpiry(newID.Certificate, t0); !errors.Is(err, wssec.ErrCurrentKey) {
		t.Fatalf("SetExpiry(current) error = %v, want %v", err, wssec.ErrCurrentKey)
	}
	if err := r.SetExpiry(strangerID.Certificate, t0); !errors.Is(err, wssec.ErrKeyNotFound) {
		t.Fatalf("SetExpiry(stranger) error = %v, want %v", err, wssec.ErrKeyNotFound)
	}
	until := t0.Add(90 * 24 * time.Hour)
	if err := r.SetExpiry(oldID.Certificate, until); err != nil {
		t.Fatalf("SetExpiry(old) error = %v", err)
	}
	clk.Advance(89 * 24 * time.Hour)
	if err := r.Remove(oldID.Certificate); !errors.As(err, &re) || !re.AllowedAt.Equal(until) {
		t.Fatalf("Remove(old) at day 89 error = %v, want a *KeyError allowing it at %v", err, until)
	}
	if err := r.Remove(newID.Certificate); !errors.Is(err, wssec.ErrCurrentKey) {
		t.Fatalf("Remove(current) error = %v, want %v", err, wssec.ErrCurrentKey)
	}
	clk.Advance(24 * time.Hour)
	if err := r.Remove(oldID.Certificate); err != nil {
		t.Fatalf("Remove(old) at day 90 error = %v", err)
	}
	if err := r.Remove(oldID.Certificate); !errors.Is(err, wssec.ErrKeyNotFound) {
		t.Fatalf("second Remove(old) error = %v, want %v", err, wssec.ErrKeyNotFound)
	}
	if diff := cmp.Diff([]row{{"new", wssec.StatusCurrent, time.Time{}}}, rows()); diff != "" {
		t.Fatalf("after Remove, Snapshot() mismatch (-want +got):\n%s", diff)
	}
}

func TestKeyRing_rotateBackPromotesRetained(t *testing.T) {
	t.Parallel()
	r := twoKeyRing(t)
	if err := r.SetExpiry(oldID.Certificate, t0); err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(keyOf(oldID)); err != nil {
		t.Fatalf("Rotate(retained old) error = %v", err)
	}
	snap := r.Snapshot()
	if len(snap) != 2 || snap[0].Name != "old" || snap[0].Status != wssec.StatusCurrent || !snap[0].Expires.IsZero() ||
		snap[1].Name != "new" || snap[1].Status != wssec.StatusRetained || !snap[1].Expires.IsZero() {
		t.Fatalf("after rolling back, Snapshot() = %+v", snap)
	}
}

func TestKeyRing_usage(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(t0)
	r, err := wssec.NewKeyRingOptions(keyOf(newID), wssec.RingOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Retain(keyOf(oldID), time.Time{}); err != nil {
		t.Fatal(err)
	}
	msg := readTestdata(t, "response11.xml")
	d := &wssec.Decryptor{Keys: r}
	for i, id := range []struct{ c *rsa.PrivateKey }{{oldID.Key}, {oldID.Key}, {newID.Key}} {
		cert := oldID.Certificate
		if id.c == newID.Key {
			cert = newID.Certificate
		}
		clk.Advance(time.Hour)
		if _, err := d.Decrypt(encrypt(t, &wssec.Encryptor{Certificate: cert}, msg)); err != nil {
			t.Fatalf("Decrypt #%d error = %v", i, err)
		}
	}
	// Usage survives a change of the ring.
	if err := r.SetExpiry(oldID.Certificate, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]any{}
	for _, e := range r.Snapshot() {
		got[e.Name] = [2]any{e.Uses, e.LastUsed}
	}
	want := map[string][2]any{
		"new": {uint64(1), t0.Add(3 * time.Hour)},
		"old": {uint64(2), t0.Add(2 * time.Hour)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("usage mismatch (-want +got):\n%s", diff)
	}
}

// TestKeyRing_concurrentRotation decrypts from several goroutines while the
// ring rotates back and forth: a message for a key that stays in the ring
// never fails.
func TestKeyRing_concurrentRotation(t *testing.T) {
	t.Parallel()
	r := twoKeyRing(t)
	msg := readTestdata(t, "response11.xml")
	msgs := [][]byte{
		encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, msg),
		encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, KeyIdentifier: wssec.IdentifyBySKI}, msg),
		edit(t, encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, msg), stripKeyInfo),
	}
	d := &wssec.Decryptor{Keys: r}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				if _, err := d.Decrypt(msgs[(g+i)%len(msgs)]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 50 {
		next := keyOf(oldID)
		if i%2 == 1 {
			next = keyOf(newID)
		}
		if err := r.Rotate(next); err != nil {
			t.Fatalf("Rotate #%d error = %v", i, err)
		}
		_ = r.Snapshot()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Decrypt during rotation error = %v", err)
	}
}

func TestKeyError_retention(t *testing.T) {
	t.Parallel()
	e := &wssec.KeyError{AllowedAt: t0, Err: wssec.ErrRetentionNotElapsed}
	if got, want := e.Error(), "wssec: retention not elapsed: key "+strings.Repeat("00:", 31)+"00 may be removed from 2026-01-01T00:00:00Z"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, wssec.ErrRetentionNotElapsed) {
		t.Error("KeyError does not unwrap to ErrRetentionNotElapsed")
	}
}

func TestRingOptions_Publish_replace(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(t0)
	r, replace, err := publishedRing(keyOf(oldID), nil, wssec.RingOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	msg := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response11.xml"))
	if _, err := (&wssec.Decryptor{Keys: r}).Decrypt(msg); err != nil {
		t.Fatal(err)
	}
	until := t0.AddDate(0, 0, 90)
	if err := replace(keyOf(newID), []wssec.RetainedKey{{Key: keyOf(oldID), Until: until}}); err != nil {
		t.Fatalf("replace() error = %v", err)
	}
	snap := r.Snapshot()
	if len(snap) != 2 || snap[0].Name != "new" || snap[0].Status != wssec.StatusCurrent ||
		snap[1].Name != "old" || !snap[1].Expires.Equal(until) || snap[1].Uses != 1 {
		t.Fatalf("after replace, Snapshot() = %+v", snap)
	}
	// Dropping a key with no expiry is the caller's decision.
	if err := replace(keyOf(newID), nil); err != nil || len(r.Snapshot()) != 1 {
		t.Fatalf("replace(new only) error = %v, %d keys", err, len(r.Snapshot()))
	}
	for _, tc := range []struct {
		name     string
		current  wssec.Key
		retained []wssec.RetainedKey
		want     error
	}{
		{"invalid current", wssec.Key{}, nil, wssec.ErrInvalidKey},
		{"invalid retained", keyOf(newID), []wssec.RetainedKey{{}}, wssec.ErrInvalidKey},
		{"duplicate", keyOf(newID), []wssec.RetainedKey{{Key: keyOf(newID)}}, wssec.ErrDuplicateKey},
	} {
		if err := replace(tc.current, tc.retained); !errors.Is(err, tc.want) {
			t.Errorf("replace(%s) error = %v, want %v", tc.name, err, tc.want)
		}
		if len(r.Snapshot()) != 1 {
			t.Errorf("replace(%s) changed the ring on error", tc.name)
		}
	}
}
