package keystore

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

// validManifest returns the manifest of a store with a current, a retained
// (with expiry) and a pending key, and a state blob.
func validManifest(t *testing.T) []byte {
	t.Helper()
	s, _, dir := ringStore(t)
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Retain("old", t0.Add(MinRetention)), tx.SetState("rollover", []byte(`{"a":[1,2]}`)))
	})
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseManifest(t *testing.T) {
	t.Parallel()
	valid := validManifest(t)
	// edit changes the valid manifest's JSON.
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(valid, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	entry := func(m map[string]any, i int) map[string]any {
		return m["entries"].([]any)[i].(map[string]any)
	}
	ca := testpki.Load(testpki.CA)
	tests := []struct {
		name     string
		data     []byte
		wantErr  error // besides ErrCorruptManifest
		wantText string
	}{
		{name: "valid", data: valid},
		{name: "empty", data: nil, wantText: "EOF"},
		{name: "not JSON", data: []byte("manifest"), wantText: "invalid character"},
		{name: "trailing data", data: append(append([]byte(nil), valid...), "{}"...), wantText: "data after"},
		{name: "unknown field", data: edit(func(m map[string]any) { m["extra"] = 1 }), wantText: "unknown field"},
		{name: "version 2", data: edit(func(m map[string]any) { m["version"] = 2 }), wantText: "version 2"},
		{name: "generation 0", data: edit(func(m map[string]any) { m["generation"] = 0 }), wantText: "generation"},
		{name: "invalid alias", data: edit(func(m map[string]any) { entry(m, 0)["alias"] = "../etc" }), wantErr: ErrInvalidName},
		{name: "duplicate alias", data: edit(func(m map[string]any) { entry(m, 0)["alias"] = "new" }), wantErr: ErrDuplicateAlias},
		{name: "unknown status", data: edit(func(m map[string]any) { entry(m, 2)["status"] = "active" }), wantText: "status"},
		{name: "two current", data: edit(func(m map[string]any) { entry(m, 2)["status"] = "current" }), wantText: "2 current"},
		{name: "retained without current", data: edit(func(m map[string]any) { entry(m, 1)["status"] = "pending" }), wantErr: ErrNoCurrentKey},
		{name: "expiry on current", data: edit(func(m map[string]any) { entry(m, 1)["expires"] = t0 }), wantText: "has an expiry"},
		{name: "no creation time", data: edit(func(m map[string]any) { delete(entry(m, 0), "created") }), wantText: "creation"},
		{name: "file location", data: edit(func(m map[string]any) { entry(m, 0)["location"] = "file:/etc/passwd" }), wantText: "location"},
		{name: "location of a path", data: edit(func(m map[string]any) { entry(m, 0)["location"] = "blob:../old.1.p12" }), wantText: "location"},
		{name: "shared location", data: edit(func(m map[string]any) { entry(m, 0)["location"] = entry(m, 1)["location"] }), wantText: "used twice"},
		{name: "broken certificate", data: edit(func(m map[string]any) { entry(m, 0)["certificate"] = "AAAA" }), wantText: "certificate"},
		{name: "wrong sha256", data: edit(func(m map[string]any) { entry(m, 0)["sha256"] = strings.Repeat("0", 64) }), wantText: "sha256"},
		{name: "wrong sha1", data: edit(func(m map[string]any) { entry(m, 0)["sha1"] = "00" }), wantText: "sha1"},
		{name: "broken chain", data: edit(func(m map[string]any) { entry(m, 0)["chain"] = []any{"AAAA"} }), wantText: "chain"},
		{name: "certificate twice", data: edit(func(m map[string]any) {
			for k, v := range entry(m, 0) {
				if k != "alias" && k != "location" && k != "status" && k != "expires" {
					entry(m, 2)[k] = v
				}
			}
		}), wantErr: ErrDuplicateKey},
		{name: "certificate replaced", data: edit(func(m map[string]any) {
			entry(m, 2)["certificate"] = ca.Certificate.Raw
		}), wantText: "sha256"},
		{name: "invalid state name", data: edit(func(m map[string]any) { m["state"] = map[string]any{"a b": 1} }), wantText: "state name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := parseManifest(tc.data, "/store/manifest.json")
			if tc.wantErr == nil && tc.wantText == "" {
				if err != nil {
					t.Fatalf("parseManifest() error = %v", err)
				}
				// A round trip keeps the manifest.
				again, err := marshalManifest(m)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(string(tc.data), string(again)); diff != "" {
					t.Errorf("marshal(parse(m)) mismatch (-want +got):\n%s", diff)
				}
				return
			}
			var me *Error
			if !errors.As(err, &me) || !errors.Is(err, ErrCorruptManifest) || me.Source != "/store/manifest.json" {
				t.Fatalf("parseManifest() error = %v, want a *Error for the path", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("parseManifest() error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("parseManifest() error = %q, want it to contain %q", err, tc.wantText)
			}
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"tenant-2026.01_b", true},
		{"0", true},
		{strings.Repeat("x", maxNameLen), true},
		{strings.Repeat("x", maxNameLen+1), false},
		{"", false},
		{".hidden", false},
		{"-x", false},
		{"a/b", false},
		{"a b", false},
		{"ä", false},
		{"a\x00", false},
	}
	for _, tc := range tests {
		if got := validName(tc.name); got != tc.ok {
			t.Errorf("validName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
	blobs := []struct {
		name string
		ok   bool
	}{
		{"old.3.p12", true},
		{"a.b.18446744073709551615.p12", true},
		{"old.p12", false},
		{"old.x.p12", false},
		{"old.3.pem", false},
		{".old.3.p12", false},
		{"manifest.json", false},
	}
	for _, tc := range blobs {
		if got := validBlobName(tc.name); got != tc.ok {
			t.Errorf("validBlobName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
	if got := quoteName(strings.Repeat("y", 500)); len(got) > 100 {
		t.Errorf("quoteName(long) has %d bytes, want it shortened", len(got))
	}
}
