package keystore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

func TestCreate_Open(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock, dir := ringStore(t)
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetState("rollover", []byte(`{"stage": "added"}`)) })

	got := openTestStore(t, dir, clock)
	if diff := cmp.Diff(views(s.View().Entries()), views(got.View().Entries())); diff != "" {
		t.Errorf("Open() entries mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(s.View().Entries(), got.View().Entries()); diff != "" {
		t.Errorf("Open() full entries mismatch (-want +got):\n%s", diff)
	}
	if got.View().Generation() != s.View().Generation() {
		t.Errorf("Generation() = %d, want %d", got.View().Generation(), s.View().Generation())
	}
	state, err := got.View().State("rollover")
	if err != nil || string(state) != `{"stage":"added"}` {
		t.Errorf("View().State() = %s, %v; want the stored JSON", state, err)
	}
	for _, e := range got.View().Entries() {
		if !e.Created.Equal(t0) {
			t.Errorf("entry %s Created = %v, want %v", e.Alias, e.Created, t0)
		}
	}

	if _, err := Create(ctx, Dir(dir), PasswordValue(testPassword), Options{}); !errors.Is(err, ErrExist) {
		t.Errorf("Create(existing) error = %v, want %v", err, ErrExist)
	}
}

func TestOpen_errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, _, dir := ringStore(t)
	// A store whose files are damaged in one way each, made from dir.
	damaged := func(t *testing.T, damage func(dir string)) string {
		t.Helper()
		d := filepath.Join(t.TempDir(), "copy")
		if err := os.CopyFS(d, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		damage(d)
		return d
	}
	blob := func(dir, alias string) string {
		m, _ := filepath.Glob(filepath.Join(dir, alias+".*.p12"))
		if len(m) != 1 {
			t.Fatalf("blobs of %s: %v", alias, m)
		}
		return m[0]
	}
	tests := []struct {
		name     string
		dir      string
		password PasswordSource
		backend  Backend
		wantErr  error
		wantText string // a part of the message
	}{
		{name: "no store", dir: t.TempDir(), password: PasswordValue(testPassword), wantErr: ErrNotExist},
		{name: "no directory", dir: filepath.Join(t.TempDir(), "nothing"), password: PasswordValue(testPassword), wantErr: ErrNotExist},
		{name: "no password", dir: dir, wantErr: ErrNoPassword},
		{name: "empty password", dir: dir, password: PasswordValue(""), wantErr: ErrNoPassword},
		{name: "wrong password", dir: dir, password: PasswordValue("wrong"), wantErr: ErrWrongPassword},
		{name: "nil backend", password: PasswordValue(testPassword), backend: (*dirBackend)(nil), wantErr: ErrInvalidOptions},
		{
			name: "corrupt manifest", password: PasswordValue(testPassword), wantErr: ErrCorruptManifest,
			dir: damaged(t, func(d string) {
				os.WriteFile(filepath.Join(d, manifestName), []byte(`{"version": 1, "generation": `), 0o600)
			}),
			wantText: "manifest.json",
		},
		{
			name: "missing file", password: PasswordValue(testPassword), wantErr: ErrMissingFile,
			dir:      damaged(t, func(d string) { os.Remove(blob(d, "new")) }),
			wantText: ".p12",
		},
		{
			name: "corrupt entry", password: PasswordValue(testPassword), wantErr: ErrCorruptEntry,
			dir: damaged(t, func(d string) { os.WriteFile(blob(d, "old"), []byte("not PKCS#12"), 0o600) }),
		},
		{
			name: "entry of another certificate", password: PasswordValue(testPassword), wantErr: ErrCorruptEntry,
			dir: damaged(t, func(d string) {
				b, _ := os.ReadFile(blob(d, "stranger"))
				os.WriteFile(blob(d, "old"), b, 0o600)
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var b Backend = Dir(tc.dir)
			if tc.backend != nil || tc.dir == "" {
				b = nil
			}
			_, err := Open(ctx, b, tc.password, Options{})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open() error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("Open() error = %q, want it to contain %q", err, tc.wantText)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("Open() error = %q contains the password", err)
			}
		})
	}
}

func TestOpen_errorTypes(t *testing.T) {
	t.Parallel()
	_, _, dir := ringStore(t)
	os.WriteFile(filepath.Join(dir, manifestName), []byte("{}"), 0o600)
	_, err := Open(context.Background(), Dir(dir), PasswordValue(testPassword), Options{})
	var me *Error
	if !errors.As(err, &me) {
		t.Fatalf("Open() error = %v, want a *Error", err)
	}
	if want := filepath.Join(dir, manifestName); me.Source != want {
		t.Errorf("Error.Source = %q, want %q", me.Source, want)
	}

	_, _, dir = ringStore(t)
	m, _ := filepath.Glob(filepath.Join(dir, "old.*.p12"))
	os.Remove(m[0])
	_, err = Open(context.Background(), Dir(dir), PasswordValue(testPassword), Options{})
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Alias != "old" || ee.Location != m[0] {
		t.Fatalf("Open() error = %#v, want an *EntryError for old at %s", err, m[0])
	}
}

func TestCreate_errors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o600)
	stray := t.TempDir()
	os.WriteFile(filepath.Join(stray, "backup.1.p12"), []byte("x"), 0o600)
	tests := []struct {
		name     string
		dir      string
		password PasswordSource
		wantErr  error
	}{
		{name: "no password", dir: filepath.Join(t.TempDir(), "s"), wantErr: ErrNoPassword},
		{name: "stray key file", dir: stray, password: PasswordValue(testPassword), wantErr: ErrExist},
		{name: "not a directory", dir: notDir, password: PasswordValue(testPassword)},
		{name: "no parent", dir: filepath.Join(t.TempDir(), "a", "b"), password: PasswordValue(testPassword), wantErr: os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Create(ctx, Dir(tc.dir), tc.password, Options{})
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("Create() error = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, err := Create(ctx, nil, PasswordValue(testPassword), Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Create(nil) error = %v, want %v", err, ErrInvalidOptions)
	}
}

// An empty existing directory becomes a store.
func TestCreate_emptyDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Create(context.Background(), Dir(dir), PasswordValue(testPassword), Options{}); err != nil {
		t.Fatalf("Create(empty dir) error = %v", err)
	}
}

func TestStore_permissions(t *testing.T) {
	t.Parallel()
	_, _, dir := ringStore(t)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode = %o, want 700", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 5 { // manifest, lock, three keys
		t.Errorf("directory holds %d files, want 5", len(ents))
	}
	for _, e := range ents {
		fi, _ := e.Info()
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %o, want 600", e.Name(), got)
		}
	}
}

func TestStore_KeyRing(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestStore(t)
	if _, err := s.KeyRing(); !errors.Is(err, ErrNoCurrentKey) {
		t.Fatalf("KeyRing() of an empty store error = %v, want %v", err, ErrNoCurrentKey)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Add("old", fixture(testpki.Old), nil) })
	if _, err := s.KeyRing(); !errors.Is(err, ErrNoCurrentKey) {
		t.Fatalf("KeyRing() with a pending key only error = %v, want %v", err, ErrNoCurrentKey)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Rotate("old") })
	ring, err := s.KeyRing()
	if err != nil {
		t.Fatalf("KeyRing() error = %v", err)
	}
	until := t0.Add(100 * 24 * time.Hour)
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(
			tx.Add("new", fixture(testpki.New), nil),
			tx.Rotate("new"),
			tx.Retain("old", until),
			tx.Add("stranger", fixture(testpki.Stranger), nil),
		)
	})
	again, _ := s.KeyRing()
	if again != ring {
		t.Errorf("KeyRing() returned a new ring after a change; want the same one")
	}
	want := []ringView{
		{"new", wssec.StatusCurrent, time.Time{}, fingerprint(testpki.New).String()},
		{"old", wssec.StatusRetained, until, fingerprint(testpki.Old).String()},
	}
	if diff := cmp.Diff(want, ringViews(ring)); diff != "" {
		t.Errorf("ring mismatch (-want +got):\n%s", diff)
	}
	cur, ok := ring.Current()
	if !ok || cur.Name != "new" || cur.Decrypter == nil {
		t.Errorf("ring.Current() = %v, %v; want the key of new", cur.Name, ok)
	}
}

// A Reload picks up what another Store (another process) committed and
// changes the same ring in place.
func TestStore_Reload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, clock, dir := ringStore(t)
	ring, _ := a.KeyRing()
	b := openTestStore(t, dir, clock)

	if changed, err := a.Reload(ctx); err != nil || changed {
		t.Fatalf("Reload() without change = %v, %v; want false, nil", changed, err)
	}
	until := t0.Add(MinRetention)
	mustUpdate(t, b, func(tx *Tx) error {
		return errors.Join(tx.Retain("old", until), tx.Rotate("stranger"))
	})
	changed, err := a.Reload(ctx)
	if err != nil || !changed {
		t.Fatalf("Reload() = %v, %v; want true, nil", changed, err)
	}
	want := []ringView{
		{"stranger", wssec.StatusCurrent, time.Time{}, fingerprint(testpki.Stranger).String()},
		{"new", wssec.StatusRetained, time.Time{}, fingerprint(testpki.New).String()},
		{"old", wssec.StatusRetained, until, fingerprint(testpki.Old).String()},
	}
	if diff := cmp.Diff(want, ringViews(ring)); diff != "" {
		t.Errorf("ring after Reload mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(views(b.View().Entries()), views(a.View().Entries())); diff != "" {
		t.Errorf("entries after Reload mismatch (-want +got):\n%s", diff)
	}

	// b's clock runs a day ahead of a's: b may remove old, a's ring would
	// still refuse; the ring follows the store.
	clockB := fakeclock.New(until.Add(24 * time.Hour))
	b = openTestStore(t, dir, clockB)
	mustUpdate(t, b, func(tx *Tx) error { return tx.Remove("old") })
	if _, err := a.Reload(ctx); err != nil {
		t.Fatalf("Reload() after a removal error = %v", err)
	}
	want = want[:2]
	if diff := cmp.Diff(want, ringViews(ring)); diff != "" {
		t.Errorf("ring after removal mismatch (-want +got):\n%s", diff)
	}

	// Rolling back to a retained key keeps the ring's usage state.
	mustUpdate(t, b, func(tx *Tx) error { return tx.Rotate("new") })
	if _, err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ringViews(ring)[0].Name; got != "new" {
		t.Errorf("current key after rollback = %s, want new", got)
	}
}

func TestStore_Reload_errors(t *testing.T) {
	t.Parallel()
	s, _, dir := ringStore(t)
	os.WriteFile(filepath.Join(dir, manifestName), []byte("garbage"), 0o600)
	if _, err := s.Reload(context.Background()); !errors.Is(err, ErrCorruptManifest) {
		t.Errorf("Reload() error = %v, want %v", err, ErrCorruptManifest)
	}
	// The store keeps serving what it had.
	if len(s.View().Entries()) != 3 {
		t.Errorf("Entries() after a failed Reload = %d entries, want 3", len(s.View().Entries()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Reload(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Reload(cancelled) error = %v, want %v", err, context.Canceled)
	}
}

func TestStore_Entry(t *testing.T) {
	t.Parallel()
	s, _, _ := ringStore(t)
	e, err := s.View().Entry("new")
	if err != nil {
		t.Fatal(err)
	}
	want := view{"new", StatusCurrent, time.Time{}, fingerprint(testpki.New).String(), map[string]string{"ticket": "OPS-1"}}
	if diff := cmp.Diff(want, views([]Entry{e})[0]); diff != "" {
		t.Errorf("Entry() mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(e.Location, "blob:new.") {
		t.Errorf("Location = %q, want a blob of new", e.Location)
	}
	// Entries are copies.
	e.Labels["ticket"] = "changed"
	if again, _ := s.View().Entry("new"); again.Labels["ticket"] != "OPS-1" {
		t.Errorf("modifying a returned entry changed the store")
	}
	if _, err := s.View().Entry("nope"); !errors.Is(err, ErrUnknownAlias) {
		t.Errorf("Entry(unknown) error = %v, want %v", err, ErrUnknownAlias)
	}
	if got, want := e.String(), "new (current, "+fingerprint(testpki.New).String()+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// Files a crashed writer left behind go with the next Update; files the
// store does not own stay.
func TestStore_Update_cleansUp(t *testing.T) {
	t.Parallel()
	s, _, dir := ringStore(t)
	for _, name := range []string{"orphan.9.p12", tempPrefix + "manifest.json-123", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Remove("stranger") })
	var got []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	var want []string
	for _, e := range s.View().Entries() {
		name, _ := blobOfLocation(e.Location)
		want = append(want, name)
	}
	want = append(want, lockName, manifestName, "notes.txt")
	if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
		t.Errorf("directory after Update mismatch (-want +got):\n%s", diff)
	}
}

var cmpSorted = cmp.Transformer("sort", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestStore_Update_lockAndContext(t *testing.T) {
	t.Parallel()
	s, _, dir := ringStore(t)
	unlock, err := Dir(dir).Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- s.Update(ctx, func(tx *Tx) error { return tx.Remove("stranger") })
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Update() while locked, cancelled, error = %v, want %v", err, context.Canceled)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	// The abandoned wait gives the lock back.
	mustUpdate(t, s, func(tx *Tx) error { return tx.Remove("stranger") })

	if err := s.Update(context.Background(), nil); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Update(nil) error = %v, want %v", err, ErrInvalidOptions)
	}
}

// Readers see the old or the new manifest while a writer holds the lock.
func TestStore_readersDoNotLock(t *testing.T) {
	t.Parallel()
	_, clock, dir := ringStore(t)
	unlock, err := Dir(dir).Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	r := openTestStore(t, dir, clock)
	if _, err := r.Reload(context.Background()); err != nil {
		t.Errorf("Reload() while a writer holds the lock error = %v", err)
	}
}

// hookBackend runs a function before the first Read of a key blob, to
// put a writer's change between a reader's reads.
type hookBackend struct {
	Backend
	before func()
}

func (h *hookBackend) Read(ctx context.Context, name string) ([]byte, error) {
	if f := h.before; f != nil && name != manifestName {
		h.before = nil
		f()
	}
	return h.Backend.Read(ctx, name)
}

// A reader that finds a key file gone because a writer replaced the
// manifest in between reads the manifest again.
func TestStore_Reload_racesWriter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, clock, dir := ringStore(t)
	hb := &hookBackend{Backend: Dir(dir)}
	r, err := Open(ctx, hb, PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, w, func(tx *Tx) error {
		return errors.Join(tx.Remove("stranger"), tx.Add("receiver", fixture(testpki.Receiver), nil))
	})
	hb.before = func() {
		mustUpdate(t, w, func(tx *Tx) error {
			return errors.Join(tx.Remove("receiver"), tx.Add("ca", fixture(testpki.CA), nil))
		})
	}
	changed, err := r.Reload(ctx)
	if err != nil || !changed {
		t.Fatalf("Reload() = %v, %v; want true, nil", changed, err)
	}
	if hb.before != nil {
		t.Fatal("the writer did not run between the reader's reads")
	}
	if diff := cmp.Diff(views(w.View().Entries()), views(r.View().Entries())); diff != "" {
		t.Errorf("entries mismatch (-want +got):\n%s", diff)
	}
}

// A manifest older than the one a Store holds (a backup restored under a
// running process) is refused, for reading and for writing.
func TestStore_generationGoesBack(t *testing.T) {
	t.Parallel()
	s, _, dir := ringStore(t)
	path := filepath.Join(dir, manifestName)
	backup, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.SetLabels("old", map[string]string{"a": "b"}) })
	if err := os.WriteFile(path, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(context.Background()); !errors.Is(err, ErrCorruptManifest) || !strings.Contains(err.Error(), "older") {
		t.Errorf("Reload() of an older manifest error = %v, want %v", err, ErrCorruptManifest)
	}
	if err := s.Update(context.Background(), func(tx *Tx) error { return tx.SetLabels("old", nil) }); !errors.Is(err, ErrCorruptManifest) {
		t.Errorf("Update() over an older manifest error = %v, want %v", err, ErrCorruptManifest)
	}
}

// A nil or zero Store, or a nil Tx, gives errors, not panics.
func TestStore_zero(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, s := range []*Store{nil, {}} {
		if err := s.Update(ctx, func(*Tx) error { return nil }); !errors.Is(err, ErrNotExist) {
			t.Errorf("Update() error = %v, want %v", err, ErrNotExist)
		}
		if _, err := s.Reload(ctx); !errors.Is(err, ErrNotExist) {
			t.Errorf("Reload() error = %v, want %v", err, ErrNotExist)
		}
		if _, err := s.KeyRing(); !errors.Is(err, ErrNotExist) {
			t.Errorf("KeyRing() error = %v, want %v", err, ErrNotExist)
		}
		if _, err := s.View().Entry("x"); !errors.Is(err, ErrUnknownAlias) {
			t.Errorf("Entry() error = %v, want %v", err, ErrUnknownAlias)
		}
		if _, err := s.ExportPKCS12("x", "pw"); !errors.Is(err, ErrUnknownAlias) {
			t.Errorf("ExportPKCS12() error = %v, want %v", err, ErrUnknownAlias)
		}
		if _, err := s.ExportCertificate("x"); !errors.Is(err, ErrUnknownAlias) {
			t.Errorf("ExportCertificate() error = %v, want %v", err, ErrUnknownAlias)
		}
		if _, err := s.CertificateRequest("x"); !errors.Is(err, ErrUnknownAlias) {
			t.Errorf("CertificateRequest() error = %v, want %v", err, ErrUnknownAlias)
		}
		if _, err := s.View().State("x"); !errors.Is(err, ErrStateNotFound) {
			t.Errorf("View().State() error = %v, want %v", err, ErrStateNotFound)
		}
		if len(s.View().Entries()) != 0 || s.View().Generation() != 0 {
			t.Errorf("Entries(), Generation() of a zero Store = %v, %d", s.View().Entries(), s.View().Generation())
		}
	}
	var tx *Tx
	if err := tx.Rotate("x"); !errors.Is(err, ErrTxDone) || tx.Entries() != nil || tx.Generation() != 0 {
		t.Errorf("nil Tx Rotate() error = %v, want %v", err, ErrTxDone)
	}
	var d *dirBackend
	if _, err := Open(ctx, d, PasswordValue("x"), Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Open(nil *dirBackend) error = %v, want %v", err, ErrInvalidOptions)
	}
	if _, err := Open(nil, Dir(t.TempDir()), PasswordValue("x"), Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Open(nil Context) error = %v, want %v", err, ErrInvalidOptions)
	}
	s, _, _ := ringStore(t)
	if err := s.Update(nil, func(*Tx) error { return nil }); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Update(nil Context) error = %v, want %v", err, ErrInvalidOptions)
	}
	if _, err := s.Reload(nil); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Reload(nil Context) error = %v, want %v", err, ErrInvalidOptions)
	}
}

// TestStore_View reads the committed state through a view, which refuses
// every change and keeps showing the state it was taken on.
func TestStore_View(t *testing.T) {
	t.Parallel()
	s, clock, _ := ringStore(t)
	v := s.View()
	gen := v.Generation()
	changes := []struct {
		name string
		fn   func(tx *Tx) error
	}{
		{"Add", func(tx *Tx) error { return tx.Add("x", fixture(testpki.Stranger), nil) }},
		{"Rotate", func(tx *Tx) error { return tx.Rotate("stranger") }},
		{"Retain", func(tx *Tx) error { return tx.Retain("old", clock.Now().Add(MinRetention)) }},
		{"SetLabels", func(tx *Tx) error { return tx.SetLabels("new", nil) }},
		{"Remove", func(tx *Tx) error { return tx.Remove("stranger") }},
		{"SetState", func(tx *Tx) error { return tx.SetState("x", []byte(`{}`)) }},
	}
	for _, c := range changes {
		if err := c.fn(v); !errors.Is(err, ErrTxDone) {
			t.Errorf("View().%s() error = %v, want %v", c.name, err, ErrTxDone)
		}
	}
	mustUpdate(t, s, func(tx *Tx) error { return tx.Remove("stranger") })
	if _, err := v.Entry("stranger"); err != nil || v.Generation() != gen || len(v.Entries()) != 3 {
		t.Errorf("old view after an Update: Entry(stranger) error = %v, generation %d (want %d), %d entries (want 3)", err, v.Generation(), gen, len(v.Entries()))
	}
	now := s.View()
	if _, err := now.Entry("stranger"); !errors.Is(err, ErrUnknownAlias) || now.Generation() != gen+1 || !now.Latest().Equal(clock.Now()) {
		t.Errorf("new view: Entry(stranger) error = %v, generation %d (want %d), latest %v", err, now.Generation(), gen+1, now.Latest())
	}
	var zero Store
	if got := zero.View().Entries(); len(got) != 0 {
		t.Errorf("zero Store View().Entries() = %v, want none", got)
	}
}
