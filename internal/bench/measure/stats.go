package main

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"
)

// median runs f warmup times untimed, then n times timed, and returns the
// median duration in microseconds.
func median(warmup, n int, f func() error) (float64, error) {
	for range warmup {
		if err := f(); err != nil {
			return 0, err
		}
	}
	ts := make([]float64, n)
	for i := range ts {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ts[i] = float64(time.Since(start).Nanoseconds()) / 1e3
	}
	return middle(ts), nil
}

// pairs holds the medians of a paired measurement, in microseconds.
type pairs struct{ a, b, diff float64 }

// paired runs a and b alternately, warmup times untimed and n times timed,
// and returns the median of a's durations, of b's, and of the differences
// a − b within each pair.
func paired(warmup, n int, a, b func() error) (pairs, error) {
	for range warmup {
		if err := a(); err != nil {
			return pairs{}, err
		}
		if err := b(); err != nil {
			return pairs{}, err
		}
	}
	ta, tb, td := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		start := time.Now()
		if err := a(); err != nil {
			return pairs{}, err
		}
		mid := time.Now()
		if err := b(); err != nil {
			return pairs{}, err
		}
		end := time.Now()
		ta[i] = float64(mid.Sub(start).Nanoseconds()) / 1e3
		tb[i] = float64(end.Sub(mid).Nanoseconds()) / 1e3
		td[i] = ta[i] - tb[i]
	}
	return pairs{middle(ta), middle(tb), middle(td)}, nil
}

// middle sorts v and returns its median.
func middle(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// parallel runs f n times in batches of GOMAXPROCS concurrent calls and
// returns the median over the batches of the batch's wall time divided by
// its size, in microseconds: a median, like the serial figures, so that a
// moment of load on a shared machine does not distort it.
func parallel(n int, f func() error) (float64, error) {
	p := runtime.GOMAXPROCS(0)
	errs := make([]error, p)
	var ts []float64
	for range max(n/p, 1) {
		var wg sync.WaitGroup
		start := time.Now()
		for g := range p {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f(); err != nil {
					errs[g] = err
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return 0, err
		}
		ts = append(ts, float64(time.Since(start).Nanoseconds())/1e3/float64(p))
	}
	return middle(ts), nil
}
