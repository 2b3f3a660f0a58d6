package pkcs11_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// BenchmarkTokenCall_blocked tells a lock that serialises calls into the
// token from a machine too busy to run them at once, which wall-clock
// throughput cannot do on a shared machine. GOMAXPROCS goroutines, each
// locked to its OS thread (cgo calls run on it), decrypt with the
// SoftHSM2 key; the kernel's schedstat of each thread splits its wall
// time into running (cpu-µs), waiting for a processor (runq-µs) and
// sleeping (blocked-µs: a mutex in the module, crypto11's session pool,
// file I/O), reported per operation. With -cpu 1,2: if calls serialised,
// blocked-µs at -2 would approach the time of a call; cpu-µs rising at
// -2 would be spinning or cache contention.
func BenchmarkTokenCall_blocked(b *testing.B) {
	_, _, tc, sc := benchDecryptors(b)
	if _, err := os.ReadFile("/proc/thread-self/schedstat"); err != nil {
		b.Skipf("no schedstat: %v", err)
	}
	for _, k := range []struct {
		name string
		d    crypto.Decrypter
		ct   []byte
	}{{"softhsm2-oaep", tc.Key, oaepCiphertext(b, tc)}, {"go-rsa-oaep", sc.Key, oaepCiphertext(b, sc)}} {
		b.Run(k.name, func(b *testing.B) {
			opts := &rsa.OAEPOptions{Hash: crypto.SHA1}
			p := runtime.GOMAXPROCS(0)
			var (
				mu               sync.Mutex
				cpu, runq, block time.Duration
				ops              int
				failed           error
				wg               sync.WaitGroup
			)
			start := make(chan struct{})
			per := max(b.N/p, 1)
			for range p {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
					<-start
					run0, wait0, err := schedstat()
					t0 := time.Now()
					for range per {
						if err == nil {
							_, err = k.d.Decrypt(rand.Reader, k.ct, opts)
						}
					}
					wall := time.Since(t0)
					run1, wait1, err2 := schedstat()
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						err = err2
					}
					if err != nil {
						failed = err
						return
					}
					cpu += run1 - run0
					runq += wait1 - wait0
					block += wall - (run1 - run0) - (wait1 - wait0)
					ops += per
				}()
			}
			b.ResetTimer()
			close(start)
			wg.Wait()
			if failed != nil {
				b.Fatal(failed)
			}
			us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(ops) }
			b.ReportMetric(us(cpu), "cpu-µs/op")
			b.ReportMetric(us(runq), "runq-µs/op")
			b.ReportMetric(us(block), "blocked-µs/op")
		})
	}
}

// schedstat returns the time the calling OS thread has run and has waited
// for a processor, from /proc/thread-self/schedstat.
func schedstat() (run, wait time.Duration, err error) {
	data, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, 0, err
	}
	var r, w, slices int64
	if _, err := fmt.Sscan(string(data), &r, &w, &slices); err != nil {
		return 0, 0, fmt.Errorf("schedstat %q: %w", data, err)
	}
	return time.Duration(r), time.Duration(w), nil
}
