package keystore

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

// TestTx_retentionCombinations tries to remove, or shorten the retention
// of, the handed-out key "old" of ringStore through sequences of Tx
// operations, in one transaction and split over several. Every sequence
// must leave "old" in the store with no expiry earlier than the floor.
func TestTx_retentionCombinations(t *testing.T) {
	t.Parallel()
	soon := t0.Add(time.Hour)
	past := t0.Add(-time.Hour)
	type op func(tx *Tx) error
	ops := map[string]op{
		"Retain(old, past)":        func(tx *Tx) error { return tx.Retain("old", past) },
		"Retain(old, soon)":        func(tx *Tx) error { return tx.Retain("old", soon) },
		"Retain(old, zero)":        func(tx *Tx) error { return tx.Retain("old", time.Time{}) },
		"Retain(old, floor)":       func(tx *Tx) error { return tx.Retain("old", t0.Add(MinRetention)) },
		"Remove(old)":              func(tx *Tx) error { return tx.Remove("old") },
		"Disable(old, 0)":          func(tx *Tx) error { return tx.Disable("old", 0) },
		"Rotate(old)":              func(tx *Tx) error { return tx.Rotate("old") },
		"Rotate(new)":              func(tx *Tx) error { return tx.Rotate("new") },
		"Rotate(stranger)":         func(tx *Tx) error { return tx.Rotate("stranger") },
		"Remove(new)":              func(tx *Tx) error { return tx.Remove("new") },
		"Retain(new, soon)":        func(tx *Tx) error { return tx.Retain("new", soon) },
		"Retain(stranger, soon)":   func(tx *Tx) error { return tx.Retain("stranger", soon) },
		"Add(old, old again)":      func(tx *Tx) error { return tx.Add("old", fixture(testpki.Old), nil) },
		"Add(old2, old again)":     func(tx *Tx) error { return tx.Add("old2", fixture(testpki.Old), nil) },
		"SetCertificate(old, new)": func(tx *Tx) error { return tx.SetCertificate("old", fixture(testpki.New).Certificate, nil) },
		"SetLabels(old)":           func(tx *Tx) error { return tx.SetLabels("old", map[string]string{"x": "y"}) },
		"Remove(stranger)":         func(tx *Tx) error { return tx.Remove("stranger") },
	}
	var names []string
	for n := range ops {
		names = append(names, n)
	}
	check := func(t *testing.T, s *Store, seq string) {
		e, err := s.View().Entry("old")
		if err != nil {
			t.Fatalf("%s: old lost: %v", seq, err)
		}
		if !e.Expires.IsZero() && e.Expires.Before(t0.Add(MinRetention)) {
			t.Fatalf("%s: old expires at %s, before the floor", seq, e.Expires)
		}
		if e.Status != StatusCurrent && e.Status != StatusRetained {
			t.Fatalf("%s: old is %s", seq, e.Status)
		}
	}
	errRollback := errors.New("roll back")
	// Every ordered triple in one transaction: the transaction's view
	// after the three is checked, then rolled back. A view without a
	// safe "old" is committed to see whether the store takes it.
	s, _, _ := ringStore(t)
	mustUpdate(t, s, func(tx *Tx) error { return tx.MarkProvided("old") })
	for _, a := range names {
		for _, b := range names {
			for _, c := range names {
				seq := fmt.Sprintf("%s; %s; %s", a, b, c)
				var bad string
				_ = s.Update(context.Background(), func(tx *Tx) error {
					for _, n := range []string{a, b, c} {
						_ = ops[n](tx)
					}
					e, err := tx.Entry("old")
					switch {
					case err != nil:
						bad = "removed"
					case !e.Expires.IsZero() && e.Expires.Before(t0.Add(MinRetention)):
						bad = "expires at " + e.Expires.String()
					}
					return errRollback
				})
				if bad == "" {
					continue
				}
				s2, _, _ := ringStore(t)
				mustUpdate(t, s2, func(tx *Tx) error { return tx.MarkProvided("old") })
				err := s2.Update(context.Background(), func(tx *Tx) error {
					for _, n := range []string{a, b, c} {
						_ = ops[n](tx)
					}
					return nil
				})
				if err == nil {
					t.Errorf("%s in one transaction: old %s, and the store committed it", seq, bad)
				}
			}
		}
	}
	// The operations that change "old" most, as pairs over two
	// transactions with the clock advanced a day in between.
	few := []string{"Retain(old, floor)", "Retain(old, soon)", "Rotate(old)", "Rotate(new)", "Rotate(stranger)", "Disable(old, 0)", "Remove(old)", "Remove(new)", "Retain(old, zero)"}
	for _, a := range few {
		for _, b := range few {
			s, clock, _ := ringStore(t)
			mustUpdate(t, s, func(tx *Tx) error { return tx.MarkProvided("old") })
			_ = s.Update(context.Background(), ops[a])
			clock.Advance(24 * time.Hour)
			_ = s.Update(context.Background(), ops[b])
			check(t, s, a+" | "+b)
		}
	}
}
