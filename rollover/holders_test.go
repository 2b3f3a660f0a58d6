package rollover_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/proctest"
	"github.com/wsrenew/wsrenew/wssec"
)

// replica is a follower of the env's store; see [proctest.Replica].
type replica struct{ *proctest.Replica }

func (e *env) follow(id string) *replica {
	e.t.Helper()
	return &replica{proctest.Follow(e.t, e.dir, testPassword, e.clock.Now, id, nil)}
}

func (r *replica) poll() { r.Poll() }

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
	if _, err := (&wssec.Decryptor{Keys: r.F.KeyRing()}).Decrypt(encryptTo(t, load(testpki.Old).Certificate)); err != nil {
		t.Fatalf("Decrypt(old) in the replica error = %v", err)
	}
	r.poll() // writes its usage
	if err := r.F.Close(); err != nil {
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
