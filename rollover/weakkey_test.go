package rollover_test

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestProcedure_weakKeyInUse renews away from a 1024-bit key in use, in a
// store opened with keystore.Options.AllowWeakRetainedKey: the new key
// becomes current, the weak one keeps decrypting as the retained key
// until its retention ends, and is then removed.
func TestProcedure_weakKeyInUse(t *testing.T) {
	clock := fakeclock.New(t0)
	dir := filepath.Join(t.TempDir(), "keys")
	opts := keystore.Options{Now: clock.Now, AllowWeakRetainedKey: true}
	s, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue(testPassword), opts)
	if err != nil {
		t.Fatalf("keystore.Create() error = %v", err)
	}
	err = s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-legacy", fixture(testpki.Legacy), nil), tx.Rotate("tenant-legacy"))
	})
	if err != nil {
		t.Fatalf("Update(import the 1024-bit key in use) error = %v", err)
	}
	ropts := rollover.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}
	m := must(rollover.NewManager(s, ropts))(t)
	toLegacy := encryptTo(t, load(testpki.Legacy).Certificate)
	decrypt := func(what string, msg []byte) error {
		t.Helper()
		ring, err := s.KeyRing()
		if err != nil {
			t.Fatalf("KeyRing() %s error = %v", what, err)
		}
		_, err = (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
		return err
	}

	idle := as[*rollover.Idle](t, must(m.Resume(ctx))(t))
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
	added := must(created.AddToKeyStore(ctx))(t)
	if err := decrypt("after step 2", toLegacy); err != nil {
		t.Fatalf("Decrypt(to the weak key) after step 2 error = %v", err)
	}
	provided := must(added.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(t)
	next := must(provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a", By: "admin of partner-a"}))(t)
	switched := as[*rollover.ReceiversSwitched](t, next)

	// During retention the weak key still decrypts, also after a restart.
	clock.Advance(day)
	s = must(keystore.Open(ctx, keystore.Dir(dir), keystore.PasswordValue(testPassword), opts))(t)
	m = must(rollover.NewManager(s, ropts))(t)
	if err := decrypt("during retention", toLegacy); err != nil {
		t.Fatalf("Decrypt(to the weak key) during retention error = %v", err)
	}
	clock.Advance(88 * day)
	switched = as[*rollover.ReceiversSwitched](t, must(m.Resume(ctx))(t))
	if _, err := switched.RemoveOldKey(ctx); !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("RemoveOldKey() on day 89 error = %v, want %v", err, wssec.ErrRetentionNotElapsed)
	}

	// The use on day 1 holds the key until day 91.
	clock.Advance(2 * day)
	must(switched.RemoveOldKey(ctx))(t)
	if got, want := aliases(s), []string{"tenant-legacy:disabled", "tenant-2027:current"}; !slices.Equal(got, want) {
		t.Fatalf("entries after step 7 = %v, want %v", got, want)
	}
	if err := decrypt("after step 7", toLegacy); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Fatalf("Decrypt(to the weak key) after step 7 error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}
	if err := decrypt("after step 7", encryptTo(t, load(testpki.New).Certificate)); err != nil {
		t.Fatalf("Decrypt(to the new key) after step 7 error = %v", err)
	}
}
