package main

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
)

const timeFormat = "2006-01-02 15:04"

// demo is one run: the key store, the partner, the replica processes and
// the procedure's clock.
type demo struct {
	c        config
	out      io.Writer
	password string
	backend  backendConfig
	partner  *partner
	url      string
	offset   time.Duration // how far the procedure's clock is ahead
	replicas []*process    // running now, by index
	ended    []*process    // killed or stopped, for their last reports
	oldFP    string
	newFP    string
	cleanup  []func()
}

// run walks the renewal with several replica processes decrypting the
// partner's responses, the operator's steps each in a process of its
// own, and one replica killed and restarted while step 3 waits for it.
func run(ctx context.Context, out io.Writer, c config) (int, error) {
	if err := c.validate(); err != nil {
		return 2, err
	}
	d := &demo{c: c, out: out}
	defer d.close()
	if err := d.setUp(ctx); err != nil {
		return 1, err
	}
	if err := d.renew(ctx); err != nil {
		_, ferr := d.finish()
		return 1, errors.Join(err, ferr)
	}
	return d.finish()
}

// setUp creates the key store with the key the partner encrypts to
// today, starts the partner and the replicas.
func (d *demo) setUp(ctx context.Context) error {
	if err := d.setUpBackend(ctx); err != nil {
		return err
	}
	d.password = os.Getenv(passwordVar)
	if d.password == "" {
		b := make([]byte, 16)
		rand.Read(b)
		d.password = hex.EncodeToString(b)
	}
	first, err := d.createStore(ctx)
	if err != nil {
		return err
	}
	if err := d.startPartner(first); err != nil {
		return err
	}
	for i := range d.c.replicas {
		p, err := d.startReplica(ctx, i)
		if err != nil {
			return err
		}
		d.replicas = append(d.replicas, p)
	}
	fmt.Fprintf(d.out, "rollover demo: key store in %s, partner at %s, %d replica processes\n", d.backend, d.url, d.c.replicas)
	d.step(time.Now(), "start", fmt.Sprintf("%s is current; the partner encrypts to it", oldAlias))
	return nil
}

// setUpBackend chooses the key store's backend, starting the embedded
// etcd server if asked to.
func (d *demo) setUpBackend(ctx context.Context) error {
	dir := d.c.dir
	if dir == "" || d.c.etcd == "embed" {
		tmp, err := os.MkdirTemp("", "wsrenew-rollover-")
		if err != nil {
			return err
		}
		d.cleanup = append(d.cleanup, func() { os.RemoveAll(tmp) })
		dir = tmp + "/keystore"
	}
	if d.c.etcd == "" {
		d.backend = backendConfig{Dir: dir}
		return nil
	}
	eps := strings.Split(d.c.etcd, ",")
	if d.c.etcd == "embed" {
		ep, stop, err := d.c.support.embed(filepath.Join(filepath.Dir(dir), "etcd"))
		if err != nil {
			return err
		}
		d.cleanup = append(d.cleanup, stop)
		eps = []string{ep}
	}
	d.backend = backendConfig{Etcd: eps, EtcdPrefix: d.etcdPrefix(ctx, eps), etcd: d.c.support}
	return nil
}

// etcdPrefix returns the key prefix of the store on etcd: the one asked
// for, or a new one that is deleted again at the end on a cluster the
// demo did not start.
func (d *demo) etcdPrefix(ctx context.Context, eps []string) string {
	if d.c.etcdPrefix != "" {
		return d.c.etcdPrefix
	}
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "/wsrenew/rollover-demo/" + hex.EncodeToString(b)
	if d.c.etcd != "embed" {
		d.cleanup = append(d.cleanup, func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := d.c.support.purge(ctx, eps, prefix); err != nil {
				fmt.Fprintf(os.Stderr, "rollover: deleting %s on etcd: %v\n", prefix, err)
			}
		})
	}
	return prefix
}

func (d *demo) createStore(ctx context.Context) (*x509.Certificate, error) {
	b, closeBackend, err := d.backend.open(ctx)
	if err != nil {
		return nil, err
	}
	defer closeBackend()
	store, err := keystore.Create(ctx, b, keystore.PasswordValue(d.password), keystore.Options{})
	if err != nil {
		return nil, err
	}
	subject := pkix.Name{CommonName: "tenant.example", Organization: []string{"Example Tenant"}}
	key, err := keystore.Generate(subject, keystore.GenerateOptions{Bits: d.c.bits})
	if err != nil {
		return nil, err
	}
	err = store.Update(ctx, func(tx *keystore.Tx) error { return errors.Join(tx.Add(oldAlias, key, nil), tx.Rotate(oldAlias)) })
	if err != nil {
		return nil, err
	}
	first, err := store.View().Entry(oldAlias)
	if err != nil {
		return nil, err
	}
	d.oldFP = first.Fingerprint.String()
	return first.Certificate, nil
}

func (d *demo) startPartner(cert *x509.Certificate) error {
	d.partner = &partner{cert: cert}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: d.partner, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	d.cleanup = append(d.cleanup, func() { srv.Close() })
	d.url = "http://" + ln.Addr().String() + "/orders"
	return nil
}

func (d *demo) startReplica(ctx context.Context, i int) (*process, error) {
	return startReplica(ctx, d.password, replicaArgs{
		Backend: d.backend, URL: d.url, ID: fmt.Sprintf("replica-%d", i+1),
		Rate: d.c.rate / d.c.replicas, Clients: d.c.clients,
	})
}

// renew takes the seven steps while the replicas decrypt.
func (d *demo) renew(ctx context.Context) error {
	phase := d.c.duration / 8
	time.Sleep(phase)
	if err := d.addNewKey(ctx); err != nil {
		return err
	}
	if err := d.provideWhileRestarting(ctx, len(d.replicas)-1, phase); err != nil {
		return err
	}
	if err := d.partnerSwitches(ctx, phase); err != nil {
		return err
	}
	d.offset += 20 * time.Hour
	res, err := d.operator(ctx, "confirm")
	if err != nil {
		return err
	}
	d.step(res.Time, "step 6", res.Message)
	time.Sleep(phase)
	return d.remove(ctx, phase)
}

// addNewKey takes steps 1 and 2, with a replica crashing in between:
// its holder record still says it holds only the old key, so step 3 must
// wait for it.
func (d *demo) addNewKey(ctx context.Context) error {
	res, err := d.operator(ctx, "create")
	if err != nil {
		return err
	}
	d.newFP = res.Fingerprint
	d.step(res.Time, "step 1", res.Message)
	crashed := d.replicas[len(d.replicas)-1]
	if err := d.kill(crashed); err != nil {
		return err
	}
	d.step(time.Now().Add(d.offset), "crash", fmt.Sprintf("%s killed (SIGKILL) while it decrypted", crashed.id))
	if res, err = d.operator(ctx, "add"); err != nil {
		return err
	}
	d.step(res.Time, "step 2", res.Message)
	return nil
}

// partnerSwitches shows steps 4 and 5 on the partner's side: it encrypts
// to the new certificate while responses encrypted to the old one are
// still queued, and those must decrypt too.
func (d *demo) partnerSwitches(ctx context.Context, phase time.Duration) error {
	d.offset += 4 * time.Hour
	const queued = 20
	if err := d.partner.switchTo(d.newCertificate(ctx), queued); err != nil {
		return err
	}
	d.step(time.Now().Add(d.offset), "step 4", fmt.Sprintf("partner encrypts to %s; %d responses already encrypted to %s still queued", newAlias, queued, oldAlias))
	d.drain(phase)
	d.step(time.Now().Add(d.offset), "step 5", "partner removed the old certificate from its configuration")
	time.Sleep(phase)
	return nil
}

// provideWhileRestarting takes step 3 while the crashed replica comes
// back: the step waits until every live holder holds the new key.
func (d *demo) provideWhileRestarting(ctx context.Context, i int, phase time.Duration) error {
	type result struct {
		res operatorResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := d.operator(ctx, "provide")
		done <- result{res, err}
	}()
	time.Sleep(phase)
	p, err := d.startReplica(ctx, i)
	if err != nil {
		return err
	}
	d.replicas[i] = p
	d.step(time.Now().Add(d.offset), "restart", fmt.Sprintf("%s started again; it loads both keys", p.id))
	r := <-done
	if r.err != nil {
		return r.err
	}
	msg := r.res.Message
	if len(r.res.Waited) > 0 {
		msg = fmt.Sprintf("waited for %v; %s", r.res.Waited, msg)
	}
	d.step(r.res.Time, "step 3", msg)
	return nil
}

// drain lets the partner's queue empty: those responses, encrypted to the
// old key, must still decrypt.
func (d *demo) drain(phase time.Duration) {
	deadline := time.Now().Add(10 * time.Second)
	for d.partner.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(phase / 4)
	}
	time.Sleep(phase)
}

// remove takes step 7: refused at day 89, done once the retention passed.
func (d *demo) remove(ctx context.Context, phase time.Duration) error {
	d.offset += 89 * 24 * time.Hour
	res, err := d.operator(ctx, "remove")
	if err != nil {
		return err
	}
	if res.AllowedAt.IsZero() {
		return fmt.Errorf("removal at day 89 was not refused: %s", res.Message)
	}
	d.step(res.Time, "step 7", fmt.Sprintf("removal refused after 89 days: allowed from %s", res.AllowedAt.Format(timeFormat)))
	time.Sleep(phase)
	d.offset += res.AllowedAt.Sub(res.Time) + time.Hour
	if res, err = d.operator(ctx, "remove"); err != nil {
		return err
	}
	if !res.AllowedAt.IsZero() {
		return fmt.Errorf("removal refused again: allowed from %s", res.AllowedAt.Format(timeFormat))
	}
	d.step(res.Time, "step 7", res.Message)
	time.Sleep(phase)
	return nil
}

func (d *demo) operator(ctx context.Context, step string) (operatorResult, error) {
	logs := io.Discard
	if d.c.verbose {
		logs = d.out
	}
	return runOperator(ctx, d.password, operatorArgs{Backend: d.backend, Step: step, Offset: d.offset, Bits: d.c.bits, Verbose: d.c.verbose}, logs)
}

// newCertificate reads the new certificate from the store, as the
// partner's administrator would have it from the bundle.
func (d *demo) newCertificate(ctx context.Context) *x509.Certificate {
	b, closeBackend, err := d.backend.open(ctx)
	if err != nil {
		return nil
	}
	defer closeBackend()
	store, err := keystore.Open(ctx, b, keystore.PasswordValue(d.password), keystore.Options{})
	if err != nil {
		return nil
	}
	e, err := store.View().Entry(newAlias)
	if err != nil {
		return nil
	}
	return e.Certificate
}

func (d *demo) kill(p *process) error {
	d.ended = append(d.ended, p)
	return p.kill()
}

func (d *demo) step(t time.Time, name, msg string) {
	fmt.Fprintf(d.out, "%s  %-7s %s\n", t.Format(timeFormat), name, msg)
}

// finish stops the replicas and prints the key store and the summary.
func (d *demo) finish() (int, error) {
	var errs []error
	for _, p := range d.replicas {
		if p == nil {
			continue
		}
		if err := p.stop(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.id, err))
		}
		d.ended = append(d.ended, p)
	}
	d.replicas = nil
	d.printStore()
	var requests, oldKey, newKey, failed int64
	var firstErr string
	for _, p := range d.ended {
		r, err := p.report()
		if err != nil {
			errs = append(errs, err)
		}
		requests += r.Requests
		oldKey += r.ByKey[d.oldFP]
		newKey += r.ByKey[d.newFP]
		failed += r.Failed
		if firstErr == "" {
			firstErr = r.FirstErr
		}
	}
	fmt.Fprintf(d.out, "requests: %d old-key: %d new-key: %d failed: %d\n", requests, oldKey, newKey, failed)
	if failed > 0 {
		errs = append(errs, fmt.Errorf("%d requests failed, first: %s", failed, firstErr))
	}
	if err := errors.Join(errs...); err != nil {
		return 1, err
	}
	return 0, nil
}

func (d *demo) printStore() {
	ctx := context.Background()
	b, closeBackend, err := d.backend.open(ctx)
	if err != nil {
		return
	}
	defer closeBackend()
	store, err := keystore.Open(ctx, b, keystore.PasswordValue(d.password), keystore.Options{})
	if err != nil {
		return
	}
	fmt.Fprintln(d.out, "key store:")
	for _, e := range store.View().Entries() {
		expires := "no expiry"
		if !e.Expires.IsZero() {
			expires = "expires " + e.Expires.Format(timeFormat)
		}
		fmt.Fprintf(d.out, "  %-12s %-8s %-26s %s\n", e.Alias, e.Status, expires, e.Fingerprint.String())
	}
}

func (d *demo) close() {
	for _, p := range d.replicas {
		if p != nil {
			p.kill()
		}
	}
	for i := len(d.cleanup) - 1; i >= 0; i-- {
		d.cleanup[i]()
	}
}
