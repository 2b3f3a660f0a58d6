package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// waitLimit bounds every wait of these tests for something the cluster
// or a follower does.
const waitLimit = 90 * time.Second

const followSample = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Ping xmlns:p="urn:test">ping</p:Ping></soap:Body></soap:Envelope>`

// follower is a keystore.Follower with channels of its reloads and
// errors. The callbacks never block the follower: a full channel drops
// the value, and waits read until the value they need.
type follower struct {
	f     *keystore.Follower
	id    string
	loads chan uint64
	errs  chan error
}

// follow starts a follower of b. A nil ticks polls with a real ticker.
func follow(t *testing.T, b keystore.Backend, id string, opts keystore.FollowOptions, ticks <-chan time.Time) *follower {
	t.Helper()
	x := &follower{id: id, loads: make(chan uint64, 64), errs: make(chan error, 64)}
	opts.HolderID, opts.Host = id, "host-"+id
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.OnReload = func(g uint64) {
		select {
		case x.loads <- g:
		default:
		}
	}
	opts.OnError = func(err error) {
		select {
		case x.errs <- err:
		default:
		}
	}
	if ticks != nil {
		opts.NewTicker = func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }
	}
	f, err := keystore.Follow(t.Context(), b, keystore.PasswordValue(testPassword), opts)
	if err != nil {
		t.Fatalf("Follow(%s) error = %v", id, err)
	}
	x.f = f
	t.Cleanup(func() { f.Close() })
	return x
}

// waitGeneration waits until the follower reloaded generation gen or a
// later one.
func (x *follower) waitGeneration(t *testing.T, ctx context.Context, gen uint64) {
	t.Helper()
	for {
		select {
		case g := <-x.loads:
			if g >= gen {
				return
			}
		case <-ctx.Done():
			t.Fatalf("holder %s did not load generation %d: %v", x.id, gen, ctx.Err())
		}
	}
}

// waitError waits for an error of the follower.
func (x *follower) waitError(t *testing.T, ctx context.Context) error {
	t.Helper()
	select {
	case err := <-x.errs:
		return err
	case <-ctx.Done():
		t.Fatalf("holder %s reported no error: %v", x.id, ctx.Err())
		return nil
	}
}

// encryptTo encrypts the sample to the fixture's certificate.
func encryptTo(t *testing.T, name string) []byte {
	t.Helper()
	msg, err := (&wssec.Encryptor{Certificate: testpki.Load(name).Certificate}).Encrypt([]byte(followSample))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// holderIDs lists the live holders of s with the keys each holds of
// fps, as "id: fixture...".
func holderIDs(t *testing.T, ctx context.Context, s *keystore.Store, names ...string) []string {
	t.Helper()
	hs, err := s.Holders(ctx)
	if err != nil {
		t.Fatalf("Holders() error = %v", err)
	}
	var out []string
	for _, h := range hs {
		desc := h.ID + ":"
		for _, n := range names {
			if slices.Contains(h.Keys, wssec.FingerprintOf(testpki.Load(n).Certificate)) {
				desc += " " + n
			}
		}
		out = append(out, desc)
	}
	return out
}

// A follower on etcd loads a commit of another process through the
// watch alone (its polling ticker never ticks), decrypts with the new
// key, and registers what it holds in a leased holder record.
func TestFollow_watch(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	c := etcdtest.Start(t, 1)
	writerBackend := newBackend(t, c.Client(t))
	clock := fakeclock.New(t0)
	writer := currentStore(t, writerBackend, clock)
	// The follower is another process: its own client of the cluster.
	fb, err := etcdstore.New(c.Client(t), writerBackend.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	x := follow(t, fb, "replica-a", keystore.FollowOptions{Store: keystore.Options{Now: clock.Now}}, make(chan time.Time))

	if diff := cmp.Diff([]string{"replica-a: old"}, holderIDs(t, ctx, writer, testpki.Old, testpki.New)); diff != "" {
		t.Errorf("holders after Follow (-want +got):\n%s", diff)
	}
	if _, err := (&wssec.Decryptor{Keys: x.f.KeyRing()}).Decrypt(encryptTo(t, testpki.New)); !errors.Is(err, wssec.ErrNoMatchingKey) {
		t.Fatalf("Decrypt(new) before the commit error = %v, want %v", err, wssec.ErrNoMatchingKey)
	}

	if err := writer.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("new", fixture(testpki.New), nil), tx.Rotate("new"))
	}); err != nil {
		t.Fatal(err)
	}
	x.waitGeneration(t, ctx, writer.View().Generation())
	if _, err := (&wssec.Decryptor{Keys: x.f.KeyRing()}).Decrypt(encryptTo(t, testpki.New)); err != nil {
		t.Errorf("Decrypt(new) after the commit error = %v", err)
	}
	if diff := cmp.Diff([]string{"replica-a: old new"}, holderIDs(t, ctx, writer, testpki.Old, testpki.New)); diff != "" {
		t.Errorf("holders after the commit (-want +got):\n%s", diff)
	}
	resp, err := c.Client(t).Get(ctx, fb.Prefix()+"/records/holders/replica-a")
	if err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease == 0 {
		t.Errorf("holder record = %v, %v; want one record with a lease", resp, err)
	}
	if err := x.f.Ready(); err != nil {
		t.Errorf("Ready() = %v, want nil", err)
	}

	// Closing removes the holder record; the usage record stays.
	if err := x.f.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if got := holderIDs(t, ctx, writer); len(got) != 0 {
		t.Errorf("holders after Close = %v, want none", got)
	}
}

// waitDeleted waits until key is deleted, by a watch from rev on.
func waitDeleted(t *testing.T, ctx context.Context, cli *clientv3.Client, key string, rev int64) {
	t.Helper()
	for wr := range cli.Watch(ctx, key, clientv3.WithRev(rev)) {
		if err := wr.Err(); err != nil {
			t.Fatalf("watching %s: %v", key, err)
		}
		for _, ev := range wr.Events {
			if ev.Type == mvccpb.DELETE {
				return
			}
		}
	}
	t.Fatalf("%s was not deleted: %v", key, ctx.Err())
}

// Step 3 on a 3-member etcd cluster with two replicas. Replica A talks
// to one member only, which is stopped: A is cut off, cannot load the
// new key and says it is not ready. Step 3 is refused while A's holder
// record lives, and goes ahead once A's lease lapsed and only the live
// replica B, which holds the new key, counts. When A's member is back,
// A loads the new key, is ready, and registers again.
//
// Leases and heartbeats run on real time here, as on a real cluster.
func TestRollover_holdersOnEtcd(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	c := etcdtest.Start(t, 3)
	all := c.Client(t)
	prefix := fmt.Sprintf("/test/holders/%d", prefixes.Add(1))
	backend := func(cli *clientv3.Client) *etcdstore.Backend {
		b, err := etcdstore.New(cli, prefix)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	opBackend := backend(all)
	if _, err := keystore.Create(ctx, opBackend, keystore.PasswordValue(testPassword), keystore.Options{}); err != nil {
		t.Fatal(err)
	}
	op, err := keystore.Open(ctx, opBackend, keystore.PasswordValue(testPassword), keystore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Update(ctx, func(tx *keystore.Tx) error {
		return errors.Join(tx.Add("tenant-2025", fixture(testpki.Old), nil), tx.Rotate("tenant-2025"))
	}); err != nil {
		t.Fatal(err)
	}

	// A's member is not the leader, so that stopping it leaves the
	// others' leases alone.
	cut := (leader(t, ctx, c, all) + 1) % 3
	// A's lease is long enough to outlast the steps below while A is cut
	// off, even on a slow machine.
	a := follow(t, backend(etcdtest.NewClient(t, []string{c.Member(cut).ClientURL()})), "replica-a",
		keystore.FollowOptions{PollInterval: 200 * time.Millisecond, HolderTTL: 12 * time.Second}, nil)
	b := follow(t, backend(all), "replica-b",
		keystore.FollowOptions{PollInterval: 200 * time.Millisecond, HolderTTL: 6 * time.Second}, nil)

	m, err := rollover.NewManager(op, rollover.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	stage, err := m.Resume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idle, ok := stage.(*rollover.Idle)
	if !ok {
		t.Fatalf("stage = %s, want idle", stage.Report().Stage)
	}
	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)})
	if err != nil {
		t.Fatal(err)
	}

	c.Stop(cut)
	// The first error may be a heartbeat that failed after a reload that
	// still worked; the next reload fails.
	for {
		if err := a.waitError(t, ctx); err == nil {
			t.Fatal("OnError(nil)")
		}
		err := a.f.Ready()
		if err != nil {
			if !errors.Is(err, keystore.ErrNotReady) {
				t.Errorf("Ready() of the cut-off replica = %v, want %v", err, keystore.ErrNotReady)
			}
			break
		}
	}
	rec := prefix + "/records/holders/replica-a"
	resp, err := all.Get(ctx, rec)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("record of the cut-off replica = %v, %v; want it to live until its lease lapses", resp, err)
	}

	added, err := created.AddToKeyStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.waitGeneration(t, ctx, op.View().Generation())
	h := rollover.Handoff{Receivers: []rollover.Receiver{{ID: "partner-a"}}}
	_, err = added.ProvideCertificate(ctx, h)
	var he *rollover.HoldersError
	if !errors.As(err, &he) {
		t.Fatalf("ProvideCertificate() while the cut-off replica's lease lives error = %v, want a *HoldersError", err)
	}
	var laggards []string
	for _, l := range he.Laggards {
		laggards = append(laggards, l.ID)
	}
	if diff := cmp.Diff([]string{"replica-a"}, laggards); diff != "" {
		t.Errorf("Laggards (-want +got):\n%s", diff)
	}

	waitDeleted(t, ctx, all, rec, resp.Header.Revision+1)
	if diff := cmp.Diff([]string{"replica-b: new"}, holderIDs(t, ctx, op, testpki.New)); diff != "" {
		t.Errorf("holders after the lease lapsed (-want +got):\n%s", diff)
	}
	if _, err := added.ProvideCertificate(ctx, h); err != nil {
		t.Fatalf("ProvideCertificate() after the lease lapsed error = %v", err)
	}

	if err := c.Restart(cut); err != nil {
		t.Fatal(err)
	}
	a.waitGeneration(t, ctx, op.View().Generation())
	if err := a.f.Ready(); err != nil {
		t.Errorf("Ready() after the member is back = %v, want nil", err)
	}
	if _, err := (&wssec.Decryptor{Keys: a.f.KeyRing()}).Decrypt(encryptTo(t, testpki.New)); err != nil {
		t.Errorf("Decrypt(new) in the replica that was cut off error = %v", err)
	}
	got := holderIDs(t, ctx, op, testpki.New)
	slices.Sort(got)
	if diff := cmp.Diff([]string{"replica-a: new", "replica-b: new"}, got); diff != "" {
		t.Errorf("holders after the member is back (-want +got):\n%s", diff)
	}
}
