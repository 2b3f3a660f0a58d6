package keystore

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDirBackend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "d")
	b := Dir(dir + "/")
	if got, want := b.Locate("a.1.p12"), filepath.Join(dir, "a.1.p12"); got != want {
		t.Errorf("Locate() = %q, want %q", got, want)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatalf("Init() error = %v", err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatalf("Init() of an existing directory error = %v", err)
	}
	if _, err := b.Read(ctx, "a.1.p12"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) error = %v, want %v", err, fs.ErrNotExist)
	}
	for _, name := range []string{"a.1.p12", manifestName} {
		if err := b.Write(ctx, name, []byte(name)); err != nil {
			t.Fatalf("Write(%s) error = %v", name, err)
		}
		if err := b.Write(ctx, name, []byte("again "+name)); err != nil {
			t.Fatalf("Write(%s) again error = %v", name, err)
		}
		got, err := b.Read(ctx, name)
		if err != nil || string(got) != "again "+name {
			t.Errorf("Read(%s) = %q, %v; want the second write", name, got, err)
		}
		fi, _ := os.Stat(filepath.Join(dir, name))
		if fi.Mode().Perm() != filePerm {
			t.Errorf("%s mode = %o, want %o", name, fi.Mode().Perm(), filePerm)
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600)
	os.Mkdir(filepath.Join(dir, "b.2.p12"), 0o700)
	names, err := b.List(ctx)
	if diff := cmp.Diff([]string{"a.1.p12", manifestName}, names, cmpSorted); diff != "" || err != nil {
		t.Errorf("List() mismatch (-want +got), error %v:\n%s", err, diff)
	}
	for _, bad := range []string{"../x.1.p12", "x", ".lock", "a/b.1.p12", ""} {
		if err := b.Write(ctx, bad, nil); err == nil {
			t.Errorf("Write(%q) error = nil, want an error", bad)
		}
		if _, err := b.Read(ctx, bad); err == nil {
			t.Errorf("Read(%q) error = nil, want an error", bad)
		}
		if err := b.Remove(ctx, bad); err == nil {
			t.Errorf("Remove(%q) error = nil, want an error", bad)
		}
	}
	if err := b.Remove(ctx, "a.1.p12"); err != nil {
		t.Errorf("Remove() error = %v", err)
	}
	if err := b.Remove(ctx, "a.1.p12"); err != nil {
		t.Errorf("Remove(missing) error = %v", err)
	}
	if got, want := b.Locate(manifestName), filepath.Join(dir, manifestName); got != want {
		t.Errorf("Locate() = %q, want %q", got, want)
	}

	// The lock holder removes temporary files of crashed writers.
	tmp := filepath.Join(dir, tempPrefix+"x")
	os.WriteFile(tmp, nil, 0o600)
	unlock, err := b.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock() error = %v", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary file after Lock(): %v, want it removed", err)
	}
	// A second lock on the same directory waits; here, until ctx ends.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Dir(dir).Lock(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("second Lock() error = %v, want %v", err, context.Canceled)
	}
	if err := unlock(); err != nil {
		t.Errorf("unlock() error = %v", err)
	}
	unlock, err = Dir(dir).Lock(ctx)
	if err != nil {
		t.Fatalf("Lock() after unlock error = %v", err)
	}
	unlock()

	if _, err := Dir(filepath.Join(dir, "missing")).Lock(ctx); err == nil {
		t.Errorf("Lock() of a missing directory error = nil, want an error")
	}
	if _, err := Dir(filepath.Join(dir, "missing")).List(ctx); err == nil {
		t.Errorf("List() of a missing directory error = nil, want an error")
	}
}

func TestCredential_check(t *testing.T) {
	t.Parallel()
	old := fixture("old")
	tests := []struct {
		name    string
		c       *Credential
		wantErr error
	}{
		{"valid", old, nil},
		{"nil", nil, ErrMalformed},
		{"no key", &Credential{Certificate: old.Certificate}, ErrMalformed},
		{"no certificate", &Credential{Key: old.Key}, ErrMalformed},
		{"unparsed certificate", &Credential{Key: old.Key, Certificate: &x509.Certificate{}}, ErrMalformed},
		{"nil in chain", &Credential{Key: old.Key, Certificate: old.Certificate, Chain: []*x509.Certificate{nil}}, ErrMalformed},
		{"key without modulus", &Credential{Key: &rsa.PrivateKey{}, Certificate: old.Certificate}, ErrKeyMismatch},
		{"certificate without modulus", &Credential{Key: old.Key, Certificate: &x509.Certificate{Raw: []byte{1}, PublicKey: &rsa.PublicKey{}}}, ErrUnsupportedKey},
	}
	for _, tc := range tests {
		if err := tc.c.check("test", minRSABits); !errors.Is(err, tc.wantErr) {
			t.Errorf("check(%s) error = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}
