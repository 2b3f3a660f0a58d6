// Command rollover shows a zero-downtime renewal of the key that decrypts a
// partner's WS-Security responses, end to end, on loopback:
//
//   - a receiver: a SOAP-over-HTTP server on 127.0.0.1 that encrypts each
//     response to the certificate it was last given, and that still has
//     responses encrypted to the old certificate queued when it switches,
//     as guaranteed delivery does;
//   - clients sending requests continuously from several goroutines through
//     wssec.Transport, with the key ring of a key store in a temporary
//     directory;
//   - the seven steps of the procedure, taken with the rollover package on a
//     clock that compresses the 90-day retention into a moment.
//
// It prints each step with its time, the key store at the end, and last a
// summary line; it exits with status 1 if any request failed.
//
//	go run ./examples/rollover
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

type config struct {
	dir      string
	bits     int
	rate     int
	duration time.Duration
	clients  int
	verbose  bool
}

func main() {
	var c config
	flag.StringVar(&c.dir, "dir", "", "key store directory, empty or new (default: a temporary directory, removed at the end)")
	flag.IntVar(&c.bits, "bits", 2048, "RSA key size: 2048, 3072 or 4096")
	flag.IntVar(&c.rate, "rate", 200, "requests per second across all clients; 0 for as fast as they go")
	flag.DurationVar(&c.duration, "duration", 3*time.Second, "how long the traffic runs, spread over the steps")
	flag.IntVar(&c.clients, "clients", 4, "concurrent clients")
	flag.BoolVar(&c.verbose, "v", false, "also print the audit records the rollover package logs")
	flag.Parse()
	code, err := run(context.Background(), os.Stdout, c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rollover:", err)
	}
	os.Exit(code)
}

// clock is the demo's controllable clock: the procedure's months pass in a
// moment. The key store, its key ring and the rollover manager share it.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const response = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders">
  <soapenv:Body><tns:GetOrderResponse><tns:Order id="%d"><tns:Total currency="EUR">%d.50</tns:Total></tns:Order></tns:GetOrderResponse></soapenv:Body>
</soapenv:Envelope>`

// receiver is the partner's SOAP endpoint.
type receiver struct {
	mu     sync.Mutex
	cert   *x509.Certificate
	queued [][]byte // responses encrypted before the switch, delivered first
	n      atomic.Int64
}

func (rc *receiver) encrypt(cert *x509.Certificate) ([]byte, error) {
	n := rc.n.Add(1)
	enc := &wssec.Encryptor{Certificate: cert, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES256GCM}
	return enc.Encrypt([]byte(fmt.Sprintf(response, n, n)))
}

// switchTo makes the receiver encrypt to cert from now on. Responses it
// already encrypted to the previous certificate stay queued and go out
// first: that is what the retention of the old key is for.
func (rc *receiver) switchTo(cert *x509.Certificate, queued int) error {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for range queued {
		b, err := rc.encrypt(rc.cert)
		if err != nil {
			return err
		}
		rc.queued = append(rc.queued, b)
	}
	rc.cert = cert
	return nil
}

func (rc *receiver) pending() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.queued)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	var body []byte
	if len(rc.queued) > 0 {
		body, rc.queued = rc.queued[0], rc.queued[1:]
	}
	cert := rc.cert
	rc.mu.Unlock()
	if body == nil {
		var err error
		if body, err = rc.encrypt(cert); err != nil {
			http.Error(w, "encryption failed", http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(body)
}

// traffic counts what the clients saw.
type traffic struct {
	requests, oldKey, newKey, failed atomic.Int64
	oldFP, newFP                     atomic.Pointer[wssec.Fingerprint]
	firstErr                         atomic.Pointer[error]
}

func run(ctx context.Context, out io.Writer, c config) (int, error) {
	if c.clients < 1 || c.duration <= 0 || c.rate < 0 {
		return 2, errors.New("need -clients >= 1, -duration > 0 and -rate >= 0")
	}
	dir := c.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "wsrenew-rollover-")
		if err != nil {
			return 1, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp + "/keystore"
	}
	password := os.Getenv("WSRENEW_PASSWORD")
	if password == "" {
		b := make([]byte, 16)
		rand.Read(b)
		password = hex.EncodeToString(b)
	}
	clk := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	logs := io.Discard
	if c.verbose {
		logs = out
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))

	// The tenant's key store, with the key receivers encrypt to today.
	store, err := keystore.Create(ctx, keystore.Dir(dir), keystore.PasswordValue(password), keystore.Options{Now: clk.Now})
	if err != nil {
		return 1, err
	}
	subject := pkix.Name{CommonName: "tenant.example", Organization: []string{"Example Tenant"}}
	first, err := store.Generate(ctx, "tenant-2025", subject, keystore.GenerateOptions{Bits: c.bits})
	if err != nil {
		return 1, err
	}
	if err := store.Update(ctx, func(tx *keystore.Tx) error { return tx.Rotate(first.Alias) }); err != nil {
		return 1, err
	}
	ring, err := store.KeyRing()
	if err != nil {
		return 1, err
	}
	mgr, err := rollover.NewManager(store, rollover.Options{Now: clk.Now, Logger: logger, Actor: "demo"})
	if err != nil {
		return 1, err
	}

	rc := &receiver{cert: first.Certificate}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1, err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/orders"

	var tr traffic
	oldFP := first.Fingerprint
	tr.oldFP.Store(&oldFP)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &wssec.Transport{
		Decryptor: &wssec.Decryptor{Keys: ring},
		OnDecrypted: func(_ *http.Request, res *wssec.Result) {
			mgr.Observe("partner", res)
			fp := wssec.FingerprintOf(res.KeysUsed[0])
			switch {
			case fp == *tr.oldFP.Load():
				tr.oldKey.Add(1)
			case tr.newFP.Load() != nil && fp == *tr.newFP.Load():
				tr.newKey.Add(1)
			}
		},
	}}
	fmt.Fprintf(out, "rollover demo: key store in %s, receiver at %s, %d clients\n", dir, url, c.clients)

	// The clients run for the whole demo; each phase lets them run a
	// slice of -duration before the next step.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var tick <-chan time.Time
	if c.rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(c.rate))
		defer t.Stop()
		tick = t.C
	}
	for range c.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if tick != nil {
					select {
					case <-stop:
						return
					case <-tick:
					}
				}
				tr.requests.Add(1)
				if err := call(client, url); err != nil {
					tr.failed.Add(1)
					tr.firstErr.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	phase := c.duration / 8
	runFor := func(d time.Duration) error {
		time.Sleep(d)
		_, err := mgr.RecordUsage(ctx)
		return err
	}
	step := func(name, format string, args ...any) {
		fmt.Fprintf(out, "%s  %-7s %s\n", clk.Now().Format("2006-01-02 15:04"), name, fmt.Sprintf(format, args...))
	}
	finish := func() (int, error) {
		close(stop)
		wg.Wait()
		fmt.Fprintln(out, "key store:")
		for _, e := range store.Entries() {
			expires := "no expiry"
			if !e.Expires.IsZero() {
				expires = "expires " + e.Expires.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(out, "  %-12s %-8s %-26s %s\n", e.Alias, e.Status, expires, e.Fingerprint.Short())
		}
		fmt.Fprintf(out, "requests: %d old-key: %d new-key: %d failed: %d\n", tr.requests.Load(), tr.oldKey.Load(), tr.newKey.Load(), tr.failed.Load())
		if tr.failed.Load() > 0 {
			return 1, fmt.Errorf("%d requests failed, first: %v", tr.failed.Load(), *tr.firstErr.Load())
		}
		return 0, nil
	}
	fail := func(err error) (int, error) {
		code, ferr := finish()
		if code == 0 {
			code = 1
		}
		return code, errors.Join(err, ferr)
	}

	step("start", "%s is current; the receiver encrypts to it", first.Alias)
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	idle, err := mgr.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2026", Bits: c.bits})
	if err != nil {
		return fail(err)
	}
	nk := created.Report().New
	step("step 1", "created key pair %s (RSA-%d, pending, %s)", nk.Alias, c.bits, nk.Fingerprint.Short())
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		return fail(err)
	}
	newEntry, err := store.Entry("tenant-2026")
	if err != nil {
		return fail(err)
	}
	newFP := newEntry.Fingerprint
	tr.newFP.Store(&newFP)
	step("step 2", "added %s to the key store: current; %s retained with no expiry, both decrypt", newEntry.Alias, first.Alias)
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	provided, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: "partner", Description: "orders service"}}, Note: "sent by mail"})
	if err != nil {
		return fail(err)
	}
	bundle, err := provided.Bundle()
	if err != nil {
		return fail(err)
	}
	step("step 3", "self-test passed; certificate given to partner (SHA-256 %s…)", bundle.Certificate.SHA256[:23])
	clk.Advance(4 * time.Hour)
	const queued = 20
	if err := rc.switchTo(newEntry.Certificate, queued); err != nil {
		return fail(err)
	}
	step("step 4", "receiver encrypts to %s; %d responses already encrypted to %s still queued", newEntry.Alias, queued, first.Alias)
	// Let the queue drain: those responses must still decrypt.
	deadline := time.Now().Add(10 * time.Second)
	for rc.pending() > 0 && time.Now().Before(deadline) {
		if err := runFor(phase / 4); err != nil {
			return fail(err)
		}
	}
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	step("step 5", "receiver removed the old certificate from its configuration")
	clk.Advance(20 * time.Hour)
	next, err := provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner", By: "partner administrator", Reference: "CHG-4711"})
	if err != nil {
		return fail(err)
	}
	switched, ok := next.(*rollover.ReceiversSwitched)
	if !ok {
		return fail(fmt.Errorf("after the confirmation the procedure is at %s", next.Stage()))
	}
	step("step 6", "partner confirmed the switch (CHG-4711); %s kept until %s", first.Alias, switched.OldKeyExpires().Format("2006-01-02 15:04"))
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	clk.Advance(89 * 24 * time.Hour)
	_, err = switched.RemoveOldKey(ctx)
	var re *rollover.RemovalError
	if !errors.As(err, &re) {
		return fail(fmt.Errorf("removal at day 89 was not refused: %v", err))
	}
	step("step 7", "removal refused after 89 days: allowed from %s", re.AllowedAt.Format("2006-01-02 15:04"))
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	clk.Advance(re.AllowedAt.Sub(clk.Now()) + time.Hour)
	if _, err := switched.RemoveOldKey(ctx); err != nil {
		return fail(err)
	}
	step("step 7", "removed %s; receivers encrypt only to %s", first.Alias, newEntry.Alias)
	if err := runFor(phase); err != nil {
		return fail(err)
	}
	return finish()
}

func call(client *http.Client, url string) error {
	resp, err := client.Post(url, "text/xml; charset=utf-8", strings.NewReader(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>`))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("GetOrderResponse")) {
		return fmt.Errorf("unexpected response: HTTP %d", resp.StatusCode)
	}
	return nil
}

// dropTime leaves the wall-clock time out of log records: the procedure's
// own times are in them.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
