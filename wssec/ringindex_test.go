package wssec

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
)

func testSnapshot(t *testing.T) *ringSnapshot {
	t.Helper()
	old, nw := testpki.Load(testpki.Old), testpki.Load(testpki.New)
	ring := NewKeyRing(Key{Decrypter: nw.Key, Certificate: nw.Certificate})
	if err := ring.Retain(Key{Decrypter: old.Key, Certificate: old.Certificate}, time.Time{}); err != nil {
		t.Fatalf("Retain(old) error = %v", err)
	}
	return ring.load()
}

// TestRingSnapshot_canonicalDNStrings checks that the forms the snapshot
// keeps for its certificates' names are those a parse gives, and that
// other spellings are still parsed.
func TestRingSnapshot_canonicalDNStrings(t *testing.T) {
	t.Parallel()
	snap := testSnapshot(t)
	var names []string
	for _, e := range snap.entries {
		c := e.key.Certificate
		names = append(names, c.Issuer.String(), c.Subject.String())
	}
	names = append(names, "C=DE, O=wsrenew test, CN=wsrenew Test CA", "CN=x", "not a DN", "")
	for _, name := range names {
		fwd, rev, err := canonicalDNStrings(name)
		gotFwd, gotRev, gotErr := snap.canonicalDNStrings(name)
		if diff := cmp.Diff([]string{fwd, rev, fmt.Sprint(err)}, []string{gotFwd, gotRev, fmt.Sprint(gotErr)}); diff != "" {
			t.Errorf("canonicalDNStrings(%q) mismatch (-want +got):\n%s", name, diff)
		}
	}
	for _, e := range snap.entries {
		if _, ok := snap.dnForms[e.key.Certificate.Issuer.String()]; !ok {
			t.Errorf("dnForms lacks the issuer %q", e.key.Certificate.Issuer.String())
		}
	}
}

// TestRingSnapshot_inRingOrder checks the order and uniqueness of the
// candidates, on the short path and on the map path.
func TestRingSnapshot_inRingOrder(t *testing.T) {
	t.Parallel()
	snap := testSnapshot(t)
	a, b := snap.entries[0], snap.entries[1]
	many := make([]*ringEntry, 0, 300)
	for range 150 {
		many = append(many, b, a)
	}
	tests := []struct {
		name  string
		found []*ringEntry
		want  []*ringEntry
	}{
		{name: "none", found: nil, want: nil},
		{name: "one", found: []*ringEntry{b}, want: []*ringEntry{b}},
		{name: "reversed", found: []*ringEntry{b, a}, want: []*ringEntry{a, b}},
		{name: "repeated", found: []*ringEntry{b, b, b}, want: []*ringEntry{b}},
		{name: "many", found: many, want: []*ringEntry{a, b}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := snap.inRingOrder(tc.found)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(x, y *ringEntry) bool { return x == y })); diff != "" {
				t.Errorf("inRingOrder() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
