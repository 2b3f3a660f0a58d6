// Command rollover shows a zero-downtime renewal of the key that decrypts a
// partner's WS-Security responses, end to end, on loopback, across
// processes:
//
//   - a partner: a SOAP-over-HTTP server on 127.0.0.1 that encrypts each
//     response to the certificate it was last given, and that still has
//     responses encrypted to the old certificate queued when it switches,
//     as guaranteed delivery does;
//   - replicas of the integration middleware, each an operating-system
//     process that follows the key store (keystore.Follow) and calls the
//     partner continuously through wssec.Transport; each registers as a
//     holder of the store's keys;
//   - the operator, who takes each of the seven steps with the rollover
//     package in a process of its own, on a clock that compresses the
//     90-day retention into a moment. Step 3 waits until every live
//     replica holds the new key; one replica is killed (SIGKILL) before
//     the new key is added and started again while step 3 waits for it.
//
// It prints each step with its time, the key store at the end, and last a
// summary line; it exits with status 1 if any request failed.
//
//	go run ./examples/rollover
//
// The key store is a directory in a temporary folder unless -etcd names
// an etcd cluster: its client endpoints, comma-separated (the store goes
// under -etcd-prefix), or "embed" for a single-member etcd server the
// demo starts in its own process. The etcd support is left out of the
// default build, which it would make much slower to compile; build with
// the tag etcd to get it:
//
//	go run -tags etcd ./examples/rollover -etcd embed
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"
)

type config struct {
	dir        string
	etcd       string // "", "embed" or endpoints
	etcdPrefix string
	support    *etcdSupport // the build's etcd support; nil: none
	bits       int
	rate       int
	duration   time.Duration
	replicas   int
	clients    int
	verbose    bool
}

func (c config) validate() error {
	if c.replicas < 1 || c.clients < 1 || c.duration <= 0 || c.rate < 0 {
		return errors.New("need -replicas >= 1, -clients >= 1, -duration > 0 and -rate >= 0")
	}
	if c.etcd != "" && c.dir != "" {
		return errors.New("-dir and -etcd exclude each other")
	}
	if c.etcd != "" && c.support == nil {
		return errNoEtcd
	}
	return nil
}

func main() {
	if ok, err := dispatchRole(builtinEtcd()); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "rollover:", err)
			os.Exit(1)
		}
		return
	}
	c := config{support: builtinEtcd()}
	flag.StringVar(&c.dir, "dir", "", "key store directory, empty or new (default: a temporary directory, removed at the end)")
	flag.StringVar(&c.etcd, "etcd", "", `etcd cluster for the key store: client endpoints, comma-separated, or "embed" for a server the demo starts (needs -tags etcd)`)
	flag.StringVar(&c.etcdPrefix, "etcd-prefix", "", "key prefix of the store on etcd; it must hold no store (default: a new random prefix, deleted at the end)")
	flag.IntVar(&c.bits, "bits", 2048, "RSA key size: 2048, 3072 or 4096")
	flag.IntVar(&c.rate, "rate", 300, "requests per second across all replicas; 0 for as fast as they go")
	flag.DurationVar(&c.duration, "duration", 4*time.Second, "how long the traffic runs between the steps, in all")
	flag.IntVar(&c.replicas, "replicas", 3, "replica processes that decrypt")
	flag.IntVar(&c.clients, "clients", 2, "concurrent clients in each replica")
	flag.BoolVar(&c.verbose, "v", false, "also print the audit records the rollover package logs")
	flag.Parse()
	code, err := run(context.Background(), os.Stdout, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollover:", err)
	}
	os.Exit(code)
}

// dropTime leaves the wall-clock time out of log records: the procedure's
// own times are in them.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
