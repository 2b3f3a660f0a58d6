package etcdstore_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
)

// BenchmarkPropagation measures how long a change takes to reach another
// process: from the start of an Update on one Store until a second Store,
// with its own client, has been notified by Watch and has reloaded the
// change. It reports the median and 99th percentile of that time, and of
// the part after the Update returned (notification and reload only).
// Run it with, for example, -benchtime=200x for 200 commits.
//
// In "labels" each commit changes an entry's labels; in "key" each
// commit adds a new key (and removes the one the commit before added), so
// the reload decrypts a PKCS#12 blob as a holder does for a new key.
func BenchmarkPropagation(b *testing.B) {
	b.Run("labels", func(b *testing.B) {
		benchmarkPropagation(b, func(tx *keystore.Tx, i int) error {
			return tx.SetLabels("old", map[string]string{"i": strconv.Itoa(i)})
		})
	})
	newKey := fixture(testpki.New)
	b.Run("key", func(b *testing.B) {
		benchmarkPropagation(b, func(tx *keystore.Tx, i int) error {
			if i > 1 {
				if err := tx.Remove("new-" + strconv.Itoa(i-1)); err != nil {
					return err
				}
			}
			return tx.Add("new-"+strconv.Itoa(i), newKey, nil)
		})
	})
}

func benchmarkPropagation(b *testing.B, change func(tx *keystore.Tx, i int) error) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	c := etcdtest.Start(b, 1)
	prefix := "/bench/propagation"
	backend := func() *etcdstore.Backend {
		be, err := etcdstore.New(c.Client(b), prefix)
		if err != nil {
			b.Fatal(err)
		}
		return be
	}
	wb, fb := backend(), backend()
	clock := fakeclock.New(t0)
	writer := currentStore(b, wb, clock)
	follower := openStore(b, fb, clock)
	changes, err := fb.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	<-changes

	var total, after []time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		err := writer.Update(ctx, func(tx *keystore.Tx) error { return change(tx, i) })
		if err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		want := writer.View().Generation()
		for follower.View().Generation() < want {
			if _, ok := <-changes; !ok {
				// The watch failed: read everything again and watch anew.
				if changes, err = fb.Watch(ctx); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := follower.Reload(ctx); err != nil {
				b.Fatal(err)
			}
		}
		done := time.Now()
		total = append(total, done.Sub(start))
		after = append(after, done.Sub(committed))
	}
	b.StopTimer()
	report := func(ds []time.Duration, name string) {
		slices.Sort(ds)
		ms := func(q float64) float64 {
			return float64(ds[int(q*float64(len(ds)-1))]) / float64(time.Millisecond)
		}
		b.ReportMetric(ms(0.50), name+"-p50-ms")
		b.ReportMetric(ms(0.99), name+"-p99-ms")
	}
	report(total, "update-to-reload")
	report(after, "notify-reload")
}
