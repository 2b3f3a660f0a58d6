package keystore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wsrenew/wsrenew/wssec"
)

// Readers of one Store and of another Store on the same directory run
// while two writers change it; run with -race. Every state a reader sees
// keeps the store's rules, and the readers end at the writers' state.
func TestStore_concurrentReadersAndWriters(t *testing.T) {
	t.Parallel()
	const writes = 6
	ctx := context.Background()
	w, clock, dir := ringStore(t)
	w2 := openTestStore(t, dir, clock)
	r := openTestStore(t, dir, clock)
	ring, err := r.KeyRing()
	if err != nil {
		t.Fatal(err)
	}

	var writers, readers sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 16)
	writers.Go(func() {
		for i := range writes {
			next := []string{"old", "new"}[i%2]
			if err := w.Update(ctx, func(tx *Tx) error {
				return errors.Join(tx.Rotate(next), tx.SetState("w", fmt.Appendf(nil, "%d", i)))
			}); err != nil {
				errs <- err
				return
			}
		}
	})
	writers.Go(func() {
		for i := range writes {
			if err := w2.Update(ctx, func(tx *Tx) error {
				return tx.SetLabels("stranger", map[string]string{"i": fmt.Sprint(i)})
			}); err != nil {
				errs <- err
				return
			}
		}
	})
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := r.Reload(ctx); err != nil {
					errs <- fmt.Errorf("Reload: %w", err)
					return
				}
				for _, s := range []*Store{r, w, w2} {
					if err := checkEntries(s.View().Entries()); err != nil {
						errs <- err
						return
					}
				}
				current := 0
				for _, e := range ring.Snapshot() {
					if e.Status == wssec.StatusCurrent {
						current++
					}
				}
				if current != 1 {
					errs <- fmt.Errorf("ring has %d current keys", current)
					return
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if _, err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	final := openTestStore(t, dir, clock)
	if got, want := views(r.View().Entries()), views(final.View().Entries()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("reader's entries = %v, want %v", got, want)
	}
	if got, want := r.View().Generation(), uint64(2+2*writes); got != want {
		t.Errorf("Generation() = %d, want %d", got, want)
	}
	if cur, _ := ring.Current(); cur.Name != "new" {
		t.Errorf("ring's current key = %s, want new", cur.Name)
	}
}
