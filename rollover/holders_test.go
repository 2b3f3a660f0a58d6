package rollover_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// pollOnly is the directory backend without notifications, so that a
// test decides when a follower reads the store.
type pollOnly struct {
	keystore.Backend
	keystore.RecordBackend
}

// replica is a follower of the env's store, as a replica of the
// application runs it, polled by hand.
type replica struct {
	f     *keystore.Follower
	ticks chan time.Time
}

func (e *env) follow(id string) *replica {
	e.t.Helper()
	return e.followWith(id, nil)
}

// followWith starts a replica that registers what trusted returns.
func (e *env) followWith(id string, trusted func(context.Context) []wssec.Fingerprint) *replica {
	e.t.Helper()
	r := &replica{ticks: make(chan time.Time)}
	d := keystore.Dir(e.dir)
	f, err := keystore.Follow(ctx, pollOnly{d, d.(keystore.RecordBackend)}, keystore.PasswordValue(testPassword), keystore.FollowOptions{
		Store:     keystore.Options{Now: e.clock.Now},
		HolderID:  id,
		Host:      "host-" + id,
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return r.ticks, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
		Trusted:   trusted,
	})
	if err != nil {
		e.t.Fatalf("Follow() error = %v", err)
	}
	r.f = f
	e.t.Cleanup(func() { f.Close() })
	return r
}

// poll makes the replica read the store, and waits until it has.
func (r *replica) poll() {
	r.ticks <- time.Time{}
	r.ticks <- time.Time{}
}

func TestProvideCertificate_waitsForHolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{MinHolders: 2}})
	a, b := e.follow("replica-a"), e.follow("replica-b")
	idle := as[*rollover.Idle](t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)
	added := must(created.AddToKeyStore(ctx))(t)
	h := rollover.Handoff{Receivers: receivers("partner-a")}

	// Neither replica has read the new key yet.
	_, err := added.ProvideCertificate(ctx, h)
	var he *rollover.HoldersError
	if !errors.As(err, &he) || !errors.Is(err, rollover.ErrHoldersNotReady) {
		t.Fatalf("ProvideCertificate() error = %v, want a *HoldersError", err)
	}
	var ids []string
	for _, l := range he.Laggards {
		ids = append(ids, l.ID+"@"+l.Host+": "+l.Reason)
	}
	want := []string{"replica-a@host-replica-a: has not loaded the key", "replica-b@host-replica-b: has not loaded the key"}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("Laggards (-want +got):\n%s", diff)
	}
	if _, ok := e.resume().(*rollover.KeyAdded); !ok {
		t.Fatalf("stage after the refusal is %s, want key-added", e.resume().Report().Stage)
	}

	// One replica catches up; the other still lags.
	a.poll()
	_, err = added.ProvideCertificate(ctx, h)
	if !errors.As(err, &he) || len(he.Laggards) != 1 || he.Laggards[0].ID != "replica-b" {
		t.Fatalf("ProvideCertificate() error = %v, want replica-b lagging", err)
	}

	// replica-b stops heart-beating (hung or killed): step 3 waits for
	// its lease, and then the policy's minimum refuses one live holder.
	e.clock.Advance(31 * time.Second)
	a.poll() // a heart-beats
	_, err = added.ProvideCertificate(ctx, h)
	if !errors.As(err, &he) || len(he.Laggards) != 0 || he.Live != 1 || he.MinHolders != 2 {
		t.Fatalf("ProvideCertificate() error = %v, want 1 live holder of 2 required", err)
	}

	// replica-b comes back holding the new key.
	b.poll()
	must(added.ProvideCertificate(ctx, h))(t)
}

func TestRemoveOldKey_holdersUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 100 * day}})
	switched := e.toSwitched("partner-a")
	r := e.follow("replica-a")

	// A late response to the old key reaches the replica on day 95.
	e.clock.Advance(95 * day)
	usedAt := e.clock.Now()
	if _, err := (&wssec.Decryptor{Keys: r.f.KeyRing()}).Decrypt(encryptTo(t, load(testpki.Old).Certificate)); err != nil {
		t.Fatalf("Decrypt(old) in the replica error = %v", err)
	}
	r.poll() // writes its usage
	if err := r.f.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}

	// Retention (100 days) has passed, but the stopped replica's
	// evidence keeps the key until day 195.
	e.clock.Advance(6 * day)
	_, err := switched.RemoveOldKey(ctx)
	var re *rollover.RemovalError
	if !errors.As(err, &re) || !errors.Is(err, rollover.ErrKeyInUse) {
		t.Fatalf("RemoveOldKey() error = %v, want ErrKeyInUse", err)
	}
	if !re.LastUsed.Equal(usedAt) || !re.AllowedAt.Equal(usedAt.Add(100*day)) {
		t.Errorf("RemovalError LastUsed %v AllowedAt %v, want %v and %v", re.LastUsed, re.AllowedAt, usedAt, usedAt.Add(100*day))
	}
	e.clock.Set(usedAt.Add(100*day + time.Second))
	must(switched.RemoveOldKey(ctx))(t)
	// The stopped replica's record is older than the guaranteed delivery
	// time now: the removal pruned it.
	if recs := must(e.store.Usage(ctx))(t); len(recs) != 0 {
		t.Errorf("Usage() after the removal = %+v, want none", recs)
	}
}

func TestSignerCertificateAdded_CheckHolders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	e.toTrusted()
	// A replica verifies the partner's responses with trust rings of its
	// own Manager, and registers what they trust.
	var rm atomic.Pointer[rollover.Manager]
	r := e.followWith("replica-a", func(ctx context.Context) []wssec.Fingerprint {
		m := rm.Load()
		if m == nil {
			return nil
		}
		fps, _ := m.TrustedSigners(ctx)
		return fps
	})
	rm.Store(must(rollover.NewManager(r.f.Store(), e.opts))(t))
	e.follow("decrypt-only") // reports no trust: not waited for
	e.clock.Advance(11 * time.Second)
	r.poll() // heart-beats, now with what its rings trust
	if hs := must(e.store.Holders(ctx))(t); len(hs) != 2 || !slices.Contains(hs[1].Trusted, fingerprint(testpki.Receiver)) {
		t.Fatalf("Holders() = %+v, want replica-a trusting the current certificate", hs)
	}

	added := must(e.resumeSigner().(*rollover.SignerTrusted).AddCertificate(ctx, partnerCert(testpki.ReceiverNew)))(t)
	err := added.CheckHolders(ctx)
	var he *rollover.HoldersError
	if !errors.As(err, &he) || he.Signer != partner || len(he.Laggards) != 1 || he.Laggards[0].ID != "replica-a" {
		t.Fatalf("CheckHolders() error = %v, want replica-a lagging", err)
	}
	if he.Fingerprint != fingerprint(testpki.ReceiverNew) {
		t.Errorf("HoldersError.Fingerprint = %s, want the new certificate", he.Fingerprint.String())
	}
	r.poll()
	if err := added.CheckHolders(ctx); err != nil {
		t.Fatalf("CheckHolders() after the replica synchronized error = %v", err)
	}
	hs := must(e.store.Holders(ctx))(t)
	if len(hs) != 2 || !slices.Contains(hs[1].Trusted, fingerprint(testpki.Receiver)) || !slices.Contains(hs[1].Trusted, fingerprint(testpki.ReceiverNew)) {
		t.Errorf("Holders() = %+v, want replica-a trusting both certificates", hs)
	}
}
