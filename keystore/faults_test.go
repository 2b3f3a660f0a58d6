package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

// faultFS is the operating system's file system with faults injected
// into writes.
type faultFS struct {
	osFS
	createErr  error // of CreateTemp
	writeErr   error // of a temporary file's Write
	syncDirErr error // of SyncDir after the manifest's rename
}

func (f *faultFS) CreateTemp(dir, pattern string) (tempFile, error) {
	if f.createErr != nil {
		return nil, f.createErr
	}
	t, err := f.osFS.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &faultFile{tempFile: t, err: f.writeErr}, nil
}

func (f *faultFS) SyncDir(dir string) error {
	if f.syncDirErr != nil {
		return f.syncDirErr
	}
	return f.osFS.SyncDir(dir)
}

type faultFile struct {
	tempFile
	err error
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	return f.tempFile.Write(p)
}

// Storage faults get the sentinel an operator can act on, and a fault
// after the manifest's rename says that the outcome is unknown.
func TestStore_Update_faults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		fault     faultFS
		wantErr   error
		committed bool
	}{
		{"disk full", faultFS{writeErr: &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}}, ErrNoSpace, false},
		{"quota", faultFS{writeErr: &fs.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}}, ErrNoSpace, false},
		{"read-only file system", faultFS{createErr: &fs.PathError{Op: "open", Path: "x", Err: syscall.EROFS}}, ErrReadOnly, false},
		{"no write permission", faultFS{createErr: &fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}}, ErrReadOnly, false},
		{"directory sync fails", faultFS{syncDirErr: &fs.PathError{Op: "sync", Path: "x", Err: syscall.EIO}}, ErrOutcomeUnknown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clock, dir := ringStore(t)
			gen := s.View().Generation()
			fault := tc.fault
			faulty, err := Open(context.Background(), &dirBackend{dir: filepath.Clean(dir), fsys: &fault}, PasswordValue(testPassword), Options{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			err = faulty.Update(context.Background(), func(tx *Tx) error { return tx.SetLabels("new", map[string]string{"k": "v"}) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update() error = %v, want %v", err, tc.wantErr)
			}
			var oe *Error
			if errors.As(err, &oe) != tc.committed {
				t.Errorf("Update() error = %v: an *Error is %v, want %v", err, !tc.committed, tc.committed)
			}
			if tc.committed && oe.Generation != gen+1 {
				t.Errorf("Error.Generation = %d, want %d", oe.Generation, gen+1)
			}
			// What the store holds afterwards, read again.
			again := openTestStore(t, dir, clock)
			e, _ := again.View().Entry("new")
			if got := e.Labels["k"] == "v"; got != tc.committed {
				t.Errorf("change visible after the fault = %v, want %v", got, tc.committed)
			}
		})
	}
}

// A damaged entry file is reported as damaged, not as a wrong password,
// when the manifest's password check (or, without one, another entry's
// file) proves the password right.
func TestOpen_damagedEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		password string
		noCheck  bool // a manifest written before the check was kept
		onlyOne  bool // the store has one entry
		wantErr  error
	}{
		{name: "damaged", password: testPassword, wantErr: ErrCorruptEntry},
		{name: "damaged, only entry", password: testPassword, onlyOne: true, wantErr: ErrCorruptEntry},
		{name: "damaged, no check", password: testPassword, noCheck: true, wantErr: ErrCorruptEntry},
		{name: "wrong password", password: "another password", wantErr: ErrWrongPassword},
		{name: "wrong password, no check", password: "another password", noCheck: true, wantErr: ErrWrongPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, clock, dir := newTestStore(t)
			mustUpdate(t, s, func(tx *Tx) error { return errors.Join(tx.Add("old", fixture(testpki.Old), nil), tx.Rotate("old")) })
			if !tc.onlyOne {
				mustUpdate(t, s, func(tx *Tx) error { return tx.Add("new", fixture(testpki.New), nil) })
			}
			e, _ := s.View().Entry("old")
			path := filepath.Join(dir, strings.TrimPrefix(e.Location, locationBlob))
			if tc.password == testPassword {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				data[len(data)-40] ^= 0x55 // in the MAC, as a bad sector would
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.noCheck {
				mp := filepath.Join(dir, manifestName)
				raw, err := os.ReadFile(mp)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				if _, ok := m["passwordCheck"]; !ok {
					t.Fatal("the manifest keeps no password check")
				}
				delete(m, "passwordCheck")
				raw, _ = json.Marshal(m)
				if err := os.WriteFile(mp, raw, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(context.Background(), Dir(dir), PasswordValue(tc.password), Options{Now: clock.Now})
			var ee *EntryError
			if !errors.Is(err, tc.wantErr) || !errors.As(err, &ee) {
				t.Fatalf("Open() error = %v, want an *EntryError with %v", err, tc.wantErr)
			}
			if tc.wantErr == ErrCorruptEntry && (ee.Alias != "old" || errors.Is(err, ErrWrongPassword)) {
				t.Errorf("Open() error = %v, want old reported damaged", err)
			}
		})
	}
}
