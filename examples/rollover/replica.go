package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// replicaArgs is what a replica process is started with.
type replicaArgs struct {
	Backend backendConfig `json:"backend"`
	URL     string        `json:"url"`
	ID      string        `json:"id"`
	Rate    int           `json:"rate"` // requests per second; 0: as fast as it goes
	Clients int           `json:"clients"`
}

// replicaReport is the line a replica prints every reportEvery: what its
// clients saw so far.
type replicaReport struct {
	Ready    bool             `json:"ready,omitempty"`
	Requests int64            `json:"requests"`
	ByKey    map[string]int64 `json:"byKey,omitempty"` // by certificate fingerprint (hex)
	Failed   int64            `json:"failed"`
	FirstErr string           `json:"firstErr,omitempty"`
}

const reportEvery = 100 * time.Millisecond

// replica is one process of the integration middleware: it follows the
// key store and calls the partner from a few clients through
// wssec.Transport, until its standard input closes.
func replica(ctx context.Context, a replicaArgs, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b, closeBackend, err := a.Backend.open(ctx)
	if err != nil {
		return err
	}
	defer closeBackend()
	f, err := follow(ctx, b, a.ID)
	if err != nil {
		return err
	}
	defer f.Close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(replicaReport{Ready: true}); err != nil {
		return err
	}
	// The parent closes our standard input to stop us.
	go func() {
		io.Copy(io.Discard, bufio.NewReader(in))
		cancel()
	}()
	var c counts
	clients := startClients(ctx, a, newClient(f), &c)
	return reportUntilDone(ctx, enc, &c, clients)
}

// follow follows the key store as the holder id: the key ring it hands
// out takes every change of the store within a poll interval.
func follow(ctx context.Context, b keystore.Backend, id string) (*keystore.Follower, error) {
	return keystore.Follow(ctx, b, keystore.PasswordEnv(passwordVar), keystore.FollowOptions{
		PollInterval:  250 * time.Millisecond,
		HolderTTL:     5 * time.Second,
		UsageInterval: time.Second,
		HolderID:      id,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// newClient returns the HTTP client that decrypts the partner's
// responses with the follower's keys and notes which key decrypted each.
func newClient(f *keystore.Follower) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &wssec.Transport{
		Decryptor: &wssec.Decryptor{Keys: f.KeyRing()},
		OnDecrypted: func(r *http.Request, res *wssec.Result) {
			if fp, ok := r.Context().Value(usedKey{}).(*string); ok {
				*fp = wssec.FingerprintOf(res.KeysUsed[0]).String()
			}
		},
	}}
}

// startClients starts a.Clients goroutines that call the partner at the
// replica's rate until ctx ends, counting into c.
func startClients(ctx context.Context, a replicaArgs, client *http.Client, c *counts) *sync.WaitGroup {
	var wg sync.WaitGroup
	pace := pacer(a.Rate)
	for range max(a.Clients, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if !pace(ctx) {
					return
				}
				var fp string
				err := call(context.WithValue(ctx, usedKey{}, &fp), client, a.URL)
				if ctx.Err() != nil {
					return // stopping: the request did not complete
				}
				c.done(fp, err)
			}
		}()
	}
	return &wg
}

// reportUntilDone writes c's report every reportEvery, and a last one
// once ctx ended and the clients stopped.
func reportUntilDone(ctx context.Context, enc *json.Encoder, c *counts, clients *sync.WaitGroup) error {
	t := time.NewTicker(reportEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			clients.Wait()
			return enc.Encode(c.report())
		case <-t.C:
			if err := enc.Encode(c.report()); err != nil {
				return err
			}
		}
	}
}

// counts is what one replica's clients saw.
type counts struct {
	mu       sync.Mutex
	requests int64
	failed   int64
	byKey    map[string]int64
	firstErr string
}

// usedKey keys the context value in which the Transport's callback
// leaves the fingerprint of the key that decrypted a response.
type usedKey struct{}

// done counts a completed request and the key that decrypted it.
func (c *counts) done(fp string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if err == nil {
		if c.byKey == nil {
			c.byKey = map[string]int64{}
		}
		c.byKey[fp]++
	} else {
		c.failed++
		if c.firstErr == "" {
			c.firstErr = err.Error()
		}
	}
}

func (c *counts) report() replicaReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := replicaReport{Requests: c.requests, Failed: c.failed, FirstErr: c.firstErr, ByKey: map[string]int64{}}
	for k, v := range c.byKey {
		r.ByKey[k] = v
	}
	return r
}

// pacer returns a function that waits for the next request slot of a
// rate shared by the replica's clients; false when ctx ended.
func pacer(rate int) func(ctx context.Context) bool {
	if rate <= 0 {
		return func(ctx context.Context) bool { return ctx.Err() == nil }
	}
	t := time.NewTicker(time.Second / time.Duration(rate))
	return func(ctx context.Context) bool {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
}

func call(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "GetOrderResponse") {
		return fmt.Errorf("unexpected response: HTTP %d", resp.StatusCode)
	}
	return nil
}
