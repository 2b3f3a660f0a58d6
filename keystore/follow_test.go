package keystore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

const followSample = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><p:Ping xmlns:p="urn:test">ping</p:Ping></soap:Body></soap:Envelope>`

// followed is a store with the current key "old", in a directory, and
// a follower of it whose polling the test drives.
type followed struct {
	dir    string
	clock  *fakeclock.Clock
	writer *Store
	f      *Follower
	ticks  chan time.Time
	loads  chan uint64
	errs   chan error
}

// newFollowed starts a follower on b (the directory backend if nil).
func newFollowed(t *testing.T, wrap func(*dirBackend) Backend, opts FollowOptions) *followed {
	t.Helper()
	s, clock, dir := newTestStore(t)
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old"))
	})
	x := &followed{dir: dir, clock: clock, writer: s, ticks: make(chan time.Time),
		loads: make(chan uint64, 16), errs: make(chan error, 16)}
	opts.Store.Now = clock.Now
	opts.NewTicker = func(time.Duration) (<-chan time.Time, func()) { return x.ticks, func() {} }
	opts.OnReload = func(g uint64) { x.loads <- g }
	opts.OnError = func(err error) { x.errs <- err }
	opts.Logger = slog.New(slog.DiscardHandler)
	if opts.HolderID == "" {
		opts.HolderID = "app-1"
	}
	var b Backend = Dir(dir)
	if wrap != nil {
		b = wrap(Dir(dir).(*dirBackend))
	}
	f, err := Follow(context.Background(), b, PasswordValue(testPassword), opts)
	if err != nil {
		t.Fatalf("Follow() error = %v", err)
	}
	x.f = f
	t.Cleanup(func() { f.Close() })
	return x
}

// tick makes the follower poll once and waits until it has finished.
func (x *followed) tick() {
	x.ticks <- x.clock.Now()
	x.ticks <- x.clock.Now() // taken only once the first tick is done
}

// renew commits a new current key "new", as another process would.
func (x *followed) renew(t *testing.T) uint64 {
	t.Helper()
	mustUpdate(t, x.writer, func(tx *Tx) error {
		return errors.Join(tx.Add("new", fixture(testpki.New), nil), tx.Rotate("new"))
	})
	return x.writer.View().Generation()
}

func encryptTo(t *testing.T, name string) []byte {
	t.Helper()
	msg, err := (&wssec.Encryptor{Certificate: testpki.Load(name).Certificate}).Encrypt([]byte(followSample))
	if err != nil {
		t.Fatalf("Encrypt() error = %v", err)
	}
	return msg
}

// noWatch hides the directory's notifications, leaving polling.
type noWatch struct {
	Backend
	RecordBackend
}

func TestFollow_picksUpCommits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wrap func(*dirBackend) Backend
		poll bool
	}{
		{name: "notification", wrap: nil},
		{name: "polling", wrap: func(d *dirBackend) Backend { return noWatch{d, d} }, poll: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newFollowed(t, tc.wrap, FollowOptions{})
			d := &wssec.Decryptor{Keys: x.f.KeyRing()}
			msg := encryptTo(t, testpki.New)
			if _, err := d.Decrypt(msg); !errors.Is(err, wssec.ErrNoMatchingKey) {
				t.Fatalf("Decrypt(new) before the renewal error = %v, want %v", err, wssec.ErrNoMatchingKey)
			}
			gen := x.renew(t)
			if tc.poll {
				x.ticks <- x.clock.Now()
			}
			for g := range x.loads {
				if g == gen {
					break
				}
			}
			if _, err := d.Decrypt(msg); err != nil {
				t.Fatalf("Decrypt(new) after the renewal error = %v", err)
			}
			hs, err := x.writer.Holders(context.Background())
			if err != nil {
				t.Fatalf("Holders() error = %v", err)
			}
			if len(hs) != 1 || hs[0].ID != "app-1" || hs[0].Generation != gen || hs[0].PID != os.Getpid() {
				t.Fatalf("Holders() = %+v, want app-1 at generation %d", hs, gen)
			}
			for _, name := range []string{testpki.New, testpki.Old} {
				if !slices.Contains(hs[0].Keys, fingerprint(name)) {
					t.Errorf("holder does not hold %s with a passed self-test: %+v", name, hs[0].Keys)
				}
			}
			if slices.Contains(hs[0].Keys, fingerprint(testpki.Stranger)) {
				t.Errorf("holder holds the stranger key")
			}
		})
	}
}

func TestFollow_keepsLastGoodRing(t *testing.T) {
	t.Parallel()
	x := newFollowed(t, func(d *dirBackend) Backend { return noWatch{d, d} }, FollowOptions{})
	manifest := filepath.Join(x.dir, manifestName)
	good, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	x.tick()
	if err := <-x.errs; !errors.Is(err, ErrCorruptManifest) {
		t.Fatalf("OnError(%v), want %v", err, ErrCorruptManifest)
	}
	if err := x.f.Ready(); !errors.Is(err, ErrCorruptManifest) {
		t.Errorf("Ready() = %v, want %v", err, ErrCorruptManifest)
	}
	if _, err := (&wssec.Decryptor{Keys: x.f.KeyRing()}).Decrypt(encryptTo(t, testpki.Old)); err != nil {
		t.Errorf("Decrypt(old) with the last good ring error = %v", err)
	}
	hs, err := x.writer.Holders(context.Background())
	if err != nil || len(hs) != 1 || hs[0].Error == "" {
		t.Errorf("Holders() = %+v, %v; want one holder reporting its error", hs, err)
	}
	if err := os.WriteFile(manifest, good, 0o600); err != nil {
		t.Fatal(err)
	}
	x.tick()
	if err := x.f.Ready(); err != nil {
		t.Errorf("Ready() after the repair = %v, want nil", err)
	}
	hs, _ = x.writer.Holders(context.Background())
	if len(hs) != 1 || hs[0].Error != "" {
		t.Errorf("Holders() after the repair = %+v, want no error", hs)
	}
}

func TestFollow_usageAndHolderLifetime(t *testing.T) {
	t.Parallel()
	x := newFollowed(t, func(d *dirBackend) Backend { return noWatch{d, d} }, FollowOptions{UsageInterval: time.Minute})
	ctx := context.Background()
	d := &wssec.Decryptor{Keys: x.f.KeyRing()}
	msg := encryptTo(t, testpki.Old)
	for range 3 {
		if _, err := d.Decrypt(msg); err != nil {
			t.Fatalf("Decrypt() error = %v", err)
		}
	}
	usedAt := x.clock.Now()
	x.tick()
	// The follower wrote at once (no earlier write), then waits a minute.
	got, err := x.writer.Usage(ctx)
	if err != nil {
		t.Fatalf("Usage() error = %v", err)
	}
	want := []KeyUsage{{Holder: "app-1", Written: usedAt, Fingerprint: fingerprint(testpki.Old), Count: 3, LastUsed: usedAt}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Usage() (-want +got):\n%s", diff)
	}
	if _, err := d.Decrypt(msg); err != nil {
		t.Fatalf("Decrypt() error = %v", err)
	}
	x.clock.Advance(30 * time.Second)
	x.tick()
	if got, _ := x.writer.Usage(ctx); got[0].Count != 3 {
		t.Errorf("usage written again within UsageInterval: %+v", got)
	}
	x.clock.Advance(31 * time.Second)
	x.tick()
	if got, _ := x.writer.Usage(ctx); got[0].Count != 4 {
		t.Errorf("usage after UsageInterval = %+v, want count 4", got)
	}

	// Heart-beats keep the holder live; without them it expires.
	if hs, _ := x.writer.Holders(ctx); len(hs) != 1 {
		t.Fatalf("Holders() = %+v, want app-1", hs)
	}
	x.clock.Advance(31 * time.Second)
	if hs, _ := x.writer.Holders(ctx); len(hs) != 0 {
		t.Errorf("Holders() after the TTL without a heartbeat = %+v, want none", hs)
	}
	x.tick()
	if hs, _ := x.writer.Holders(ctx); len(hs) != 1 {
		t.Errorf("Holders() after a heartbeat = %+v, want app-1", hs)
	}

	// Close removes the holder and keeps the usage, which PruneUsage
	// removes only once it is older than asked.
	if err := x.f.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	if hs, _ := x.writer.Holders(ctx); len(hs) != 0 {
		t.Errorf("Holders() after Close = %+v, want none", hs)
	}
	recs, err := x.writer.Usage(ctx)
	if err != nil || len(recs) != 1 || recs[0].Fingerprint != fingerprint(testpki.Old) || !recs[0].LastUsed.Equal(usedAt) {
		t.Errorf("Usage() = %+v, %v; want old used at %v", recs, err, usedAt)
	}
	if n, err := x.writer.PruneUsage(ctx, usedAt); n != 0 || err != nil {
		t.Errorf("PruneUsage(before the write) = %d, %v; want 0, nil", n, err)
	}
	if n, err := x.writer.PruneUsage(ctx, x.clock.Now().Add(time.Second)); n != 1 || err != nil {
		t.Errorf("PruneUsage(after the write) = %d, %v; want 1, nil", n, err)
	}
}

func TestFollow_stopsWithContext(t *testing.T) {
	t.Parallel()
	s, clock, dir := newTestStore(t)
	mustUpdate(t, s, func(tx *Tx) error { return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old")) })
	ctx, cancel := context.WithCancel(context.Background())
	f, err := Follow(ctx, Dir(dir), PasswordValue(testPassword), FollowOptions{Store: Options{Now: clock.Now}})
	if err != nil {
		t.Fatalf("Follow() error = %v", err)
	}
	if hs, _ := s.Holders(context.Background()); len(hs) != 1 || hs[0].ID != f.holder().ID {
		t.Fatalf("Holders() = %+v, want %s", hs, f.holder().ID)
	}
	cancel()
	<-f.done
	if hs, _ := s.Holders(context.Background()); len(hs) != 0 {
		t.Errorf("Holders() after the context ended = %+v, want none", hs)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close() error = %v", err)
	}
}

func TestFollow_errors(t *testing.T) {
	t.Parallel()
	_, clock, emptyDir := newTestStore(t)
	tests := []struct {
		name    string
		dir     string
		opts    FollowOptions
		wantErr error
	}{
		{name: "no current key", dir: emptyDir, wantErr: ErrNoCurrentKey},
		{name: "no store", dir: filepath.Join(t.TempDir(), "none"), wantErr: ErrNotExist},
		{name: "negative poll", dir: emptyDir, opts: FollowOptions{PollInterval: -1}, wantErr: ErrInvalidOptions},
		{name: "negative usage interval", dir: emptyDir, opts: FollowOptions{UsageInterval: -1}, wantErr: ErrInvalidOptions},
		{name: "TTL below two polls", dir: emptyDir, opts: FollowOptions{PollInterval: time.Minute, HolderTTL: time.Minute}, wantErr: ErrInvalidOptions},
		{name: "TTL above a day", dir: emptyDir, opts: FollowOptions{HolderTTL: 25 * time.Hour}, wantErr: ErrInvalidOptions},
		{name: "bad holder ID", dir: emptyDir, opts: FollowOptions{HolderID: "../x"}, wantErr: ErrInvalidName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Store.Now = clock.Now
			f, err := Follow(context.Background(), Dir(tc.dir), PasswordValue(testPassword), tc.opts)
			if !errors.Is(err, tc.wantErr) {
				f.Close()
				t.Fatalf("Follow(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
	// A backend without records has no holders.
	if _, err := (&Store{}).Holders(context.Background()); !errors.Is(err, ErrNotExist) {
		t.Errorf("zero Store Holders() error = %v, want %v", err, ErrNotExist)
	}
	s, _, _ := newMemStore(t)
	if _, err := s.Holders(context.Background()); !errors.Is(err, ErrNoRecords) {
		t.Errorf("Holders() without records error = %v, want %v", err, ErrNoRecords)
	}
	if _, err := s.Usage(context.Background()); !errors.Is(err, ErrNoRecords) {
		t.Errorf("Usage() without records error = %v, want %v", err, ErrNoRecords)
	}
}

func TestDirBackend_records(t *testing.T) {
	t.Parallel()
	s, _, dir := ringStore(t)
	d := Dir(dir).(*dirBackend)
	ctx := context.Background()
	if err := d.PutRecord(ctx, "holders", "h-1", []byte(`{}`), time.Second); err != nil {
		t.Fatalf("PutRecord() error = %v", err)
	}
	// Records never look like key blobs to the store's cleanup.
	mustUpdate(t, s, func(tx *Tx) error { return tx.Remove("stranger") })
	got, err := d.Records(ctx, "holders")
	if err != nil || string(got["h-1"]) != `{}` {
		t.Fatalf("Records() = %q, %v", got, err)
	}
	for _, bad := range []struct{ kind, id string }{{"../x", "a"}, {"holders", "../a"}, {".hidden", "a"}, {"holders", ""}} {
		if err := d.PutRecord(ctx, bad.kind, bad.id, nil, 0); !errors.Is(err, ErrInvalidName) {
			t.Errorf("PutRecord(%q, %q) error = %v, want %v", bad.kind, bad.id, err, ErrInvalidName)
		}
	}
	if err := d.DeleteRecord(ctx, "holders", "h-1"); err != nil {
		t.Fatalf("DeleteRecord() error = %v", err)
	}
	if err := d.DeleteRecord(ctx, "holders", "h-1"); err != nil {
		t.Errorf("DeleteRecord(missing) error = %v", err)
	}
	if got, err := d.Records(ctx, "usage"); len(got) != 0 || err != nil {
		t.Errorf("Records(no directory) = %v, %v; want none", got, err)
	}
}

// closingWatch is a directory backend whose notifications the test
// sends and ends, as an etcd watch ends on compaction.
type closingWatch struct {
	Backend
	RecordBackend
	watches chan chan struct{}
}

func (w closingWatch) Watch(ctx context.Context) (<-chan struct{}, error) {
	ch := make(chan struct{}, 1)
	w.watches <- ch
	return ch, nil
}

func TestFollow_watchEnds(t *testing.T) {
	t.Parallel()
	watches := make(chan chan struct{}, 4)
	x := newFollowed(t, func(d *dirBackend) Backend { return closingWatch{d, d, watches} }, FollowOptions{})
	first := <-watches
	gen := x.renew(t)
	// The watch fails without reporting the change: the follower reads
	// the whole store again and watches again.
	close(first)
	if g := <-x.loads; g != gen {
		t.Fatalf("OnReload(%d), want %d", g, gen)
	}
	second := <-watches
	gen2 := func() uint64 {
		mustUpdate(t, x.writer, func(tx *Tx) error { return tx.Add("stranger", fixture(testpki.Stranger), nil) })
		return x.writer.View().Generation()
	}()
	second <- struct{}{}
	if g := <-x.loads; g != gen2 {
		t.Fatalf("OnReload(%d) after a notification, want %d", g, gen2)
	}
}

func TestStore_recordsCorrupt(t *testing.T) {
	t.Parallel()
	s, _, dir := ringStore(t)
	d := Dir(dir).(*dirBackend)
	ctx := context.Background()
	if err := d.PutRecord(ctx, recordHolders, "forged", []byte(`{"id":"other","ttl_seconds":30}`), 0); err != nil {
		t.Fatal(err)
	}
	// A holder record that cannot be used counts as expired.
	if hs, err := s.Holders(ctx); len(hs) != 0 || err != nil {
		t.Errorf("Holders() = %+v, %v; want none", hs, err)
	}
	// A usage record that cannot be read is an error: dropping it could
	// hide a key's use.
	if err := d.PutRecord(ctx, recordUsage, "h-1", []byte(`{"holder":"h-1","keys":[{"sha256":"zz"}]}`), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Usage(ctx); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("Usage() error = %v, want %v", err, ErrCorruptRecord)
	}
	if _, err := s.PruneUsage(ctx, t0); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("PruneUsage() error = %v, want %v", err, ErrCorruptRecord)
	}
}

func TestFollower_Transport(t *testing.T) {
	t.Parallel()
	x := newFollowed(t, nil, FollowOptions{})
	msg := encryptTo(t, testpki.Old)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.Write(msg)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &wssec.Transport{Decryptor: &wssec.Decryptor{Keys: x.f.KeyRing()}}}
	resp, err := client.Post(srv.URL, "text/xml", strings.NewReader("<request/>"))
	if err != nil {
		t.Fatalf("Post() error = %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(body), "ping") {
		t.Errorf("response = %q, %v; want the decrypted envelope", body, err)
	}
}
