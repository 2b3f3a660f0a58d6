package etcdstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// leader returns the index of the cluster's leader.
func leader(t *testing.T, ctx context.Context, c *etcdtest.Cluster, cli *clientv3.Client) int {
	t.Helper()
	for i, ep := range c.Endpoints() {
		st, err := cli.Status(ctx, ep)
		if err != nil {
			t.Fatalf("Status(%s) error = %v", ep, err)
		}
		if st.Leader == st.Header.MemberId {
			return i
		}
	}
	t.Fatal("no leader")
	return -1
}

// One member of a 3-member cluster stops while an Update runs: the
// Update commits or returns an error, a fresh reader sees a consistent
// store with the change if the Update reported success, and the store
// takes further Updates while the member is down and after it is back.
func TestStore_memberStopped(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 3)
	for _, tc := range []struct {
		name   string
		leader bool
	}{
		{"leader", true},
		{"follower", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cli := c.Client(t)
			b, err := etcdstore.New(cli, fmt.Sprintf("/test/fault/%s/%d", tc.name, prefixes.Add(1)))
			if err != nil {
				t.Fatal(err)
			}
			clock := fakeclock.New(t0)
			s := currentStore(t, b, clock)
			victim := leader(t, ctx, c, cli)
			if !tc.leader {
				victim = (victim + 1) % 3
			}

			err = s.Update(ctx, func(tx *keystore.Tx) error {
				c.Stop(victim)
				return tx.SetLabels("old", map[string]string{"during": "stop"})
			})
			t.Logf("Update while member %d stops: %v", victim, err)
			fresh := openStore(t, b, clock) // fails the test on a corrupt store
			e, rerr := fresh.View().Entry("old")
			if rerr != nil {
				t.Fatal(rerr)
			}
			if err == nil && e.Labels["during"] != "stop" {
				t.Errorf("Update reported success, but its change is missing: labels %v", e.Labels)
			}

			if err := s.Update(ctx, func(tx *keystore.Tx) error {
				return tx.SetLabels("old", map[string]string{"after": "stop"})
			}); err != nil {
				t.Fatalf("Update with one member down error = %v", err)
			}
			if err := c.Restart(victim); err != nil {
				t.Fatal(err)
			}
			if err := s.Update(ctx, func(tx *keystore.Tx) error { return tx.Add("new", fixture("new"), nil) }); err != nil {
				t.Fatalf("Add after restart error = %v", err)
			}
			fresh = openStore(t, b, clock)
			if diff := statuses(fresh); len(diff) != 2 {
				t.Errorf("entries after restart = %v, want old and new", diff)
			}
		})
	}
}

// A watcher whose member loses the rest of its cluster gets its channel
// closed (the watch requires a leader), so that a follower knows it may
// be stale; once the cluster is back, a new watch works.
func TestBackend_Watch_lostLeader(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c := etcdtest.Start(t, 3)
	all := c.Client(t)
	prefix := fmt.Sprintf("/test/lost/%d", prefixes.Add(1))
	writer, err := etcdstore.New(all, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := writer.Write(ctx, "manifest.json", []byte("gen1")); err != nil {
		t.Fatal(err)
	}
	isolated, err := etcdstore.New(etcdtest.NewClient(t, []string{c.Member(0).ClientURL()}), prefix)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := isolated.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-ch

	c.Stop(1)
	c.Stop(2)
	select {
	case _, ok := <-ch:
		if ok {
			for range ch {
			}
		}
	case <-ctx.Done():
		t.Fatal("watch stayed open on a member without a leader")
	}

	// Members of a cluster without quorum wait for each other.
	errs := make(chan error, 2)
	for _, i := range []int{1, 2} {
		go func() { errs <- c.Restart(i) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ch, err = isolated.Watch(ctx)
	if err != nil {
		t.Fatalf("Watch() after the cluster is back error = %v", err)
	}
	<-ch
	if err := writer.Write(ctx, "manifest.json", []byte("gen2")); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatal("Watch() closed, want a value for the write")
		}
	case <-ctx.Done():
		t.Fatal("no value for a write after the cluster is back")
	}
}
