package keystore

import (
	"context"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

func TestStore_smoke(t *testing.T) {
	s, _, dir := newTestStore(t)
	ctx := context.Background()
	mustUpdate(t, s, func(tx *Tx) error {
		if err := tx.Add("old", fixture(testpki.Old), nil); err != nil {
			return err
		}
		return tx.Rotate("old")
	})
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(ring.Snapshot())
	s2, err := Open(ctx, Dir(dir), PasswordValue(testPassword), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(s2.Entries())
}
