// Command propagation measures how long a key committed to a store
// takes to decrypt in the processes that follow the store: from the
// start of the commit (Store.Update) until a response encrypted to the
// new key decrypts through each follower's ring. It prints one JSON
// object with the percentiles.
//
// Usage:
//
//	propagation [-followers 4] [-n 30] [-watch=true] [-backend dir|etcd] [-members 1]
//
// Each follower opens the store on its own (its own keystore.Store and
// file-system watch or etcd client, as a separate process would) and
// runs keystore.Follow with the default poll interval (1 s); -watch=false
// hides the backend's notifications to measure polling alone. With
// -backend etcd the store lives in an etcd cluster of -members members
// that the command starts in its own process (go.etcd.io/etcd/server/v3/embed,
// on loopback, without fsync), and the writer and every follower have a
// client of their own connected to every member. Each
// round commits one new key as retained, the way step 2 of a renewal
// makes a key decryptable, and waits until every follower decrypts with
// it. The keys are generated before the measurement.
package main

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	"github.com/wsrenew/wsrenew/wssec"
)

const password = "propagation-measurement"

const sample = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Ping xmlns:p="urn:bench">ping</p:Ping></soap:Body></soap:Envelope>`

// pollOnly hides the backend's notifications.
type pollOnly struct {
	keystore.Backend
	keystore.RecordBackend
}

// backend is what a follower or the writer opens the store with.
type backend interface {
	keystore.Backend
	keystore.RecordBackend
}

type result struct {
	Backend    string  `json:"backend"`
	Members    int     `json:"members,omitempty"`
	Followers  int     `json:"followers"`
	Rounds     int     `json:"rounds"`
	Watch      bool    `json:"watch"`
	Samples    int     `json:"samples"`
	Failed     int     `json:"failed"`
	CommitP50  float64 `json:"commit_p50_ms"`
	P50        float64 `json:"propagation_p50_ms"`
	P99        float64 `json:"propagation_p99_ms"`
	Max        float64 `json:"propagation_max_ms"`
	PollMillis float64 `json:"poll_interval_ms"`
}

func main() {
	followers := flag.Int("followers", 4, "processes following the store")
	rounds := flag.Int("n", 30, "keys committed, one per round")
	watch := flag.Bool("watch", true, "use the backend's change notifications")
	kind := flag.String("backend", "dir", "dir (a temporary directory) or etcd (an etcd cluster started in this process)")
	members := flag.Int("members", 1, "members of the etcd cluster, with -backend etcd")
	flag.Parse()
	if err := run(*kind, *members, *followers, *rounds, *watch, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(kind string, members, nf, rounds int, watch bool, out io.Writer) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp, err := os.MkdirTemp("", "propagation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "store")

	// open returns a backend of the store as another process would open
	// it.
	var open func() (backend, error)
	switch kind {
	case "dir":
		members = 0
		open = func() (backend, error) { return keystore.Dir(dir).(backend), nil }
	case "etcd":
		c, err := etcdtest.Launch(members, filepath.Join(tmp, "etcd"))
		if err != nil {
			return err
		}
		defer c.Close()
		var clients []io.Closer
		// Deferred before the followers stop: runs after they did.
		defer func() {
			for _, cli := range clients {
				cli.Close()
			}
		}()
		open = func() (backend, error) {
			cli, err := etcdtest.Dial(c.Endpoints())
			if err != nil {
				return nil, err
			}
			clients = append(clients, cli)
			return etcdstore.New(cli, "/propagation")
		}
	default:
		return fmt.Errorf("unknown backend %q: want dir or etcd", kind)
	}

	creds, msgs, err := generate(rounds + 1)
	if err != nil {
		return err
	}
	s, err := create(ctx, open, creds[0])
	if err != nil {
		return err
	}

	var mu sync.Mutex
	var round int
	var start time.Time
	got := map[int]time.Duration{} // by follower, for the round
	done := make(chan struct{}, 1)
	fs := make([]*keystore.Follower, nf)
	for i := range fs {
		d, err := open()
		if err != nil {
			return err
		}
		var b keystore.Backend = d
		if !watch {
			b = pollOnly{d, d}
		}
		idx := i
		check := func() {
			mu.Lock()
			defer mu.Unlock()
			if _, seen := got[idx]; seen || fs[idx] == nil || round == 0 {
				return
			}
			if _, err := (&wssec.Decryptor{Keys: fs[idx].KeyRing()}).Decrypt(msgs[round]); err == nil {
				got[idx] = time.Since(start)
				if len(got) == nf {
					select {
					case done <- struct{}{}:
					default:
					}
				}
			}
		}
		f, err := keystore.Follow(ctx, b, keystore.PasswordValue(password), keystore.FollowOptions{
			HolderID: fmt.Sprintf("follower-%d", i),
			OnReload: func(uint64) { check() },
			Logger:   slog.New(slog.DiscardHandler),
		})
		if err != nil {
			return err
		}
		defer f.Close()
		mu.Lock()
		fs[i] = f
		mu.Unlock()
	}

	var lat, commits []float64
	failed := 0
	for r := 1; r <= rounds; r++ {
		mu.Lock()
		round, start = r, time.Now()
		clear(got)
		mu.Unlock()
		alias := fmt.Sprintf("k%d", r)
		if err := s.Update(ctx, func(tx *keystore.Tx) error {
			return errors.Join(tx.Add(alias, creds[r], nil), tx.Retain(alias, time.Time{}))
		}); err != nil {
			return err
		}
		commits = append(commits, ms(time.Since(start)))
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		mu.Lock()
		failed += nf - len(got)
		for _, d := range got {
			lat = append(lat, ms(d))
		}
		round = 0
		mu.Unlock()
	}
	slices.Sort(lat)
	slices.Sort(commits)
	res := result{Backend: kind, Members: members, Followers: nf, Rounds: rounds, Watch: watch, Samples: len(lat), Failed: failed,
		CommitP50: pct(commits, 50), P50: pct(lat, 50), P99: pct(lat, 99), Max: pct(lat, 100), PollMillis: 1000}
	return json.NewEncoder(out).Encode(res)
}

// generate returns n credentials and, for each, a response encrypted to
// it. Generating keys is slow, so it happens before the measurement.
func generate(n int) ([]*keystore.Credential, [][]byte, error) {
	creds := make([]*keystore.Credential, n)
	msgs := make([][]byte, n)
	for i := range creds {
		c, err := keystore.Generate(pkix.Name{CommonName: fmt.Sprintf("propagation %d", i)}, keystore.GenerateOptions{})
		if err != nil {
			return nil, nil, err
		}
		creds[i] = c
		if msgs[i], err = (&wssec.Encryptor{Certificate: c.Certificate}).Encrypt([]byte(sample)); err != nil {
			return nil, nil, err
		}
	}
	return creds, msgs, nil
}

// create creates the store the writer commits to, on a backend of its
// own, with first as its current key "k0".
func create(ctx context.Context, open func() (backend, error), first *keystore.Credential) (*keystore.Store, error) {
	wb, err := open()
	if err != nil {
		return nil, err
	}
	s, err := keystore.Create(ctx, wb, keystore.PasswordValue(password), keystore.Options{})
	if err != nil {
		return nil, err
	}
	if err := s.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("k0", first, nil), tx.Rotate("k0"))
	}); err != nil {
		return nil, err
	}
	return s, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pct returns the p-th percentile of sorted v (nearest rank).
func pct(v []float64, p int) float64 {
	if len(v) == 0 {
		return 0
	}
	i := (len(v)*p + 99) / 100
	return v[max(i-1, 0)]
}
