package keystore

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

const testEnvelope = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><r xmlns="urn:example">ok</r></soap:Body></soap:Envelope>`

// A Decryptor built once on the store's ring follows a renewal that
// another process commits: the new key decrypts after a Reload, the old
// one until it is removed.
func TestStore_KeyRing_decrypts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock, dir := newTestStore(t)
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old"))
	})
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	dec := &wssec.Decryptor{Keys: ring}
	encryptTo := func(name string) []byte {
		t.Helper()
		msg, err := (&wssec.Encryptor{Certificate: testpki.Load(name).Certificate}).Encrypt([]byte(testEnvelope))
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	toOld, toNew := encryptTo(testpki.Old), encryptTo(testpki.New)
	decrypts := func(msg []byte) error {
		t.Helper()
		res, err := dec.Decrypt(msg)
		if err == nil && !bytes.Contains(res.Envelope, []byte(">ok</r>")) {
			t.Fatalf("Decrypt() envelope = %s", res.Envelope)
		}
		return err
	}
	if err := decrypts(toOld); err != nil {
		t.Fatalf("Decrypt(to old) error = %v", err)
	}
	if err := decrypts(toNew); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Fatalf("Decrypt(to new) before the renewal error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}

	operator := openTestStore(t, dir, clock)
	mustUpdate(t, operator, func(tx *Tx) error {
		return errors.Join(tx.Add("new", fixture(testpki.New), nil), tx.Rotate("new"), tx.Retain("old", t0.Add(MinRetention)))
	})
	if _, err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := decrypts(toNew); err != nil {
		t.Errorf("Decrypt(to new) after the renewal error = %v", err)
	}
	if err := decrypts(toOld); err != nil {
		t.Errorf("Decrypt(to old) while retained error = %v", err)
	}

	later := openTestStore(t, dir, fakeclock.New(t0.Add(MinRetention)))
	mustUpdate(t, later, func(tx *Tx) error { return tx.Remove("old") })
	if _, err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := decrypts(toOld); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Errorf("Decrypt(to old) after removal error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}
	snap := ring.Snapshot()
	if len(snap) != 1 || snap[0].Name != "new" || snap[0].Uses != 1 {
		t.Errorf("ring after removal = %v, want new alone with one use", snap)
	}
}
