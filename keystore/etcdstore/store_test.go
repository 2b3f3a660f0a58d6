package etcdstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/etcdtest"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	"github.com/wsrenew/wsrenew/wssec"
)

// The seven steps' store changes through keystore's public API: add a
// new key, rotate, retain the old one until an expiry, remove it after.
func TestStore_lifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cli := single(t)
	b := newBackend(t, cli)
	clock := fakeclock.New(t0)

	if _, err := keystore.Open(ctx, b, keystore.PasswordValue(testPassword), keystore.Options{}); !errors.Is(err, keystore.ErrNotExist) {
		t.Fatalf("Open(empty prefix) error = %v, want %v", err, keystore.ErrNotExist)
	}
	s := currentStore(t, b, clock)
	if _, err := keystore.Create(ctx, b, keystore.PasswordValue(testPassword), keystore.Options{}); !errors.Is(err, keystore.ErrExist) {
		t.Fatalf("Create(again) error = %v, want %v", err, keystore.ErrExist)
	}
	if err := s.Update(ctx, func(tx *keystore.Tx) error { return tx.Add("new", fixture(testpki.New), nil) }); err != nil {
		t.Fatalf("Add(new) error = %v", err)
	}
	until := t0.Add(90 * 24 * time.Hour)
	err := s.Update(ctx, func(tx *keystore.Tx) error {
		if err := tx.Rotate("new"); err != nil {
			return err
		}
		return tx.Retain("old", until)
	})
	if err != nil {
		t.Fatalf("Update(rotate, expire) error = %v", err)
	}

	other := openStore(t, b, clock)
	if diff := cmp.Diff(map[string]string{"old": "retained", "new": "current"}, statuses(other)); diff != "" {
		t.Errorf("statuses seen by another Store (-want +got):\n%s", diff)
	}
	ring, err := other.KeyRing()
	if err != nil {
		t.Fatalf("KeyRing() error = %v", err)
	}
	cur, ok := ring.Current()
	if !ok || wssec.FingerprintOf(cur.Certificate) != wssec.FingerprintOf(testpki.Load(testpki.New).Certificate) {
		t.Errorf("ring current key = %s, want the fixture new", cur.Name)
	}

	// Removal before the expiry is refused, after it succeeds and also
	// removes the key's blob.
	remove := func(tx *keystore.Tx) error { return tx.Remove("old") }
	if err := s.Update(ctx, remove); !errors.Is(err, wssec.ErrRetentionNotElapsed) {
		t.Fatalf("Update(remove early) error = %v, want %v", err, wssec.ErrRetentionNotElapsed)
	}
	clock.Set(until)
	if err := s.Update(ctx, remove); err != nil {
		t.Fatalf("Update(remove) error = %v", err)
	}
	if changed, err := other.Reload(ctx); !changed || err != nil {
		t.Fatalf("Reload() = %v, %v; want true, nil", changed, err)
	}
	if diff := cmp.Diff(map[string]string{"new": "current"}, statuses(other)); diff != "" {
		t.Errorf("statuses after removal (-want +got):\n%s", diff)
	}
	names, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "old.") {
			t.Errorf("blob %s of the removed key is still stored", n)
		}
	}
}

// addLabels runs n Updates on s, each adding the label writer-i to the
// entry "old", and returns the labels whose Update succeeded. An Update
// that gave up with ErrConflict adds nothing; any other error is
// returned.
func addLabels(ctx context.Context, s *keystore.Store, writer string, n int) ([]string, error) {
	var added []string
	for i := range n {
		label := fmt.Sprintf("%s-%d", writer, i)
		err := s.Update(ctx, func(tx *keystore.Tx) error {
			e, err := tx.Entry("old")
			if err != nil {
				return err
			}
			labels := maps.Clone(e.Labels)
			if labels == nil {
				labels = map[string]string{}
			}
			labels[label] = "x"
			return tx.SetLabels("old", labels)
		})
		switch {
		case err == nil:
			added = append(added, label)
		case errors.Is(err, keystore.ErrConflict):
		default:
			return added, fmt.Errorf("Update(%s) error = %w", label, err)
		}
	}
	return added, nil
}

// checkLabels fails the test unless the entry "old", read afresh from b,
// has exactly the labels added.
func checkLabels(t *testing.T, b keystore.Backend, added []string) {
	t.Helper()
	s := openStore(t, b, fakeclock.New(t0))
	e, err := s.View().Entry("old")
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(e.Labels))
	slices.Sort(added)
	if diff := cmp.Diff(added, got); diff != "" {
		t.Errorf("labels of the committed updates (-want +got):\n%s", diff)
	}
}

// racedUpdates is how many Updates each racing writer runs.
const racedUpdates = 10

// Two Stores, each with its own client, race Updates on one store: every
// Update either commits or gives up with ErrConflict, and no committed
// change is lost.
func TestStore_racingUpdates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := etcdtest.Start(t, 1)
	prefix := fmt.Sprintf("/test/race/%d", prefixes.Add(1))
	backend := func() *etcdstore.Backend {
		b, err := etcdstore.New(c.Client(t), prefix)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b1, b2 := backend(), backend()
	clock := fakeclock.New(t0)
	currentStore(t, b1, clock)
	s1, s2 := openStore(t, b1, clock), openStore(t, b2, clock)

	var wg sync.WaitGroup
	var added [2][]string
	var errs [2]error
	for i, s := range []*keystore.Store{s1, s2} {
		wg.Go(func() { added[i], errs[i] = addLabels(ctx, s, fmt.Sprintf("w%d", i), racedUpdates) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	all := append(added[0], added[1]...)
	t.Logf("%d of %d Updates committed", len(all), 2*racedUpdates)
	if len(all) == 0 {
		t.Fatal("no Update committed")
	}
	checkLabels(t, b1, all)
}

// childEnv guards the child process of TestStore_racingProcesses: it
// holds the endpoints and prefix the child writes to.
const childEnv = "WSRENEW_ETCDSTORE_RACE_CHILD"

// Two OS processes race Updates on one store: as with two Stores in one
// process, every Update commits or gives up with ErrConflict and no
// committed change is lost. The test binary runs itself again as the
// second process.
func TestStore_racingProcesses(t *testing.T) {
	if env := os.Getenv(childEnv); env != "" {
		raceChild(env)
		return
	}
	t.Parallel()
	ctx := t.Context()
	c := etcdtest.Start(t, 1)
	b := newBackend(t, c.Client(t))
	clock := fakeclock.New(t0)
	s := currentStore(t, b, clock)

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestStore_racingProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(c.Endpoints(), ",")+" "+b.Prefix())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	mine, err := addLabels(ctx, s, "parent", racedUpdates)
	if err != nil {
		t.Error(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	var theirs []string
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if label, ok := strings.CutPrefix(sc.Text(), "added "); ok {
			theirs = append(theirs, label)
		}
	}
	t.Logf("%d of %d Updates committed", len(mine)+len(theirs), 2*racedUpdates)
	if len(mine)+len(theirs) == 0 {
		t.Fatal("no Update committed")
	}
	checkLabels(t, b, append(mine, theirs...))
}

// raceChild is the second process of TestStore_racingProcesses. It prints
// "added LABEL" for each committed Update and exits non-zero on any
// other error.
func raceChild(env string) {
	endpoints, prefix, _ := strings.Cut(env, " ")
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cli, err := etcdtest.Dial(strings.Split(endpoints, ","))
	if err != nil {
		fail(err)
	}
	defer cli.Close()
	b, err := etcdstore.New(cli, prefix)
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	clock := fakeclock.New(t0)
	s, err := keystore.Open(ctx, b, keystore.PasswordValue(testPassword), keystore.Options{Now: clock.Now})
	if err != nil {
		fail(err)
	}
	added, err := addLabels(ctx, s, "child", racedUpdates)
	for _, l := range added {
		fmt.Println("added", l)
	}
	if err != nil {
		fail(err)
	}
}

// Two processes creating the same store at once: the writer lock lets
// exactly one succeed; the other gets ErrExist.
func TestStore_racingCreate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := etcdtest.Start(t, 1)
	prefix := fmt.Sprintf("/test/create/%d", prefixes.Add(1))
	errs := make(chan error, 2)
	for range 2 {
		b, err := etcdstore.New(c.Client(t), prefix)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := keystore.Create(ctx, b, keystore.PasswordValue(testPassword), keystore.Options{})
			errs <- err
		}()
	}
	var ok, exist int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, keystore.ErrExist):
			exist++
		default:
			t.Errorf("Create() error = %v, want nil or %v", err, keystore.ErrExist)
		}
	}
	if ok != 1 || exist != 1 {
		t.Errorf("Create() succeeded %d times and found the store %d times, want once each", ok, exist)
	}
}

// pausedCreator is a backend whose writer lock lapsed and whose listing
// was read before another creator wrote: what a creator paused past its
// lease sees when it resumes.
type pausedCreator struct{ *etcdstore.Backend }

func (p pausedCreator) Lock(context.Context) (func() error, error) {
	return func() error { return nil }, nil
}

func (p pausedCreator) List(context.Context) ([]string, error) { return nil, nil }

// A creator that resumes after its lock lapsed and another process
// created the store and added a key: Create commits the manifest only if
// it still does not exist, so it gets ErrExist and the other's key stays.
func TestStore_createLapsedLock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	cli := single(t)
	b := newBackend(t, cli)
	clock := fakeclock.New(t0)
	currentStore(t, b, clock)

	_, err := keystore.Create(ctx, pausedCreator{b}, keystore.PasswordValue(testPassword), keystore.Options{Now: clock.Now})
	if !errors.Is(err, keystore.ErrExist) {
		t.Fatalf("Create() after the lock lapsed error = %v, want %v", err, keystore.ErrExist)
	}
	if diff := cmp.Diff(map[string]string{"old": "current"}, statuses(openStore(t, b, clock))); diff != "" {
		t.Errorf("entries after the lapsed Create (-want +got):\n%s", diff)
	}
}
