package c14n

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// chunks is a ChunkWriter with small buffers, which keeps every byte it
// is given, so that a test sees each handover.
type chunks struct {
	size  int
	out   bytes.Buffer
	calls int
}

func (c *chunks) Write(p []byte) (int, error) { return c.out.Write(p) }

func (c *chunks) WriteChunk(buf []byte) []byte {
	c.calls++
	c.out.Write(buf)
	return make([]byte, 0, c.size)
}

// matchLocal returns a matcher for the first element named local at
// depth, in the namespace ns.
func matchLocal(depth int, ns, local string) func(int, string, []byte) bool {
	return func(d int, n string, l []byte) bool { return d == depth && n == ns && string(l) == local }
}

// compareMatch canonicalizes data with CanonicalizeBytesMatch and, if the
// module's parser accepts data, checks that CanonicalizeBytes writes the
// same for the element it reports, with the same error class.
func compareMatch(t *testing.T, data []byte, is func(int, string, []byte) bool, opt Options, chunk int) {
	t.Helper()
	var w interface {
		Write([]byte) (int, error)
	}
	var plain bytes.Buffer
	cw := &chunks{size: chunk}
	w = &plain
	if chunk > 0 {
		w = cw
	}
	f, err := CanonicalizeBytesMatch(w, data, is, opt, 0, Guard{MaxDepth: 64, MaxAttributes: 64})
	if err != nil && !isDocumented(err) && !errors.Is(err, ErrStopped) {
		t.Fatalf("CanonicalizeBytesMatch(%q): undocumented error %v", data, err)
	}
	got := plain.String()
	if chunk > 0 {
		got = cw.out.String()
	}
	if err == nil && f.Written != int64(len(got)) {
		t.Fatalf("CanonicalizeBytesMatch(%q) Written = %d, wrote %d", data, f.Written, len(got))
	}
	if _, _, perr := xmlscan.Parse(data, xmlscan.Limits{MaxDepth: 64, MaxAttributes: 64}); perr != nil {
		return
	}
	if errors.Is(err, ErrUnsupported) && f.QName == "" {
		return // no such element
	}
	var want bytes.Buffer
	wn, wskip, werr := CanonicalizeBytes(&want, data, f.Ordinal, f.QName, opt, 0)
	if (err == nil) != (werr == nil) {
		t.Fatalf("element %d (%s) of %q: CanonicalizeBytesMatch error = %v, CanonicalizeBytes error = %v", f.Ordinal, f.QName, data, err, werr)
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want.String(), got); diff != "" {
		t.Fatalf("element %d (%s) of %q: CanonicalizeBytesMatch differs from CanonicalizeBytes (-want +got):\n%s", f.Ordinal, f.QName, data, diff)
	}
	if f.Written != wn || f.Skipped != wskip {
		t.Fatalf("element %d of %q: counts = %d, %d, want %d, %d", f.Ordinal, data, f.Written, f.Skipped, wn, wskip)
	}
}

func TestCanonicalizeBytesMatch(t *testing.T) {
	t.Parallel()
	doc := []byte(`<?xml version="1.0"?><s:E xmlns:s="urn:s" xmlns:w="urn:w"><s:H><s:B>not this</s:B></s:H>` +
		`<t:B xmlns:t="urn:s" w:Id="b"><w:x a="1">text &amp; more</w:x><s:y/></t:B><s:B/></s:E>`)
	var out bytes.Buffer
	f, err := CanonicalizeBytesMatch(&out, doc, matchLocal(2, "urn:s", "B"), Options{Method: Method{Exclusive: true}}, 0, Guard{})
	if err != nil {
		t.Fatalf("CanonicalizeBytesMatch error = %v", err)
	}
	want := `<t:B xmlns:t="urn:s" xmlns:w="urn:w" w:Id="b"><w:x a="1">text &amp; more</w:x><s:y xmlns:s="urn:s"></s:y></t:B>`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("CanonicalizeBytesMatch output (-want +got):\n%s", diff)
	}
	wantFound := Found{Ordinal: 3, QName: "t:B", Written: int64(len(want)), Skipped: int64(strings.Index(string(doc), "<t:B"))}
	if diff := cmp.Diff(wantFound, f); diff != "" {
		t.Errorf("CanonicalizeBytesMatch Found (-want +got):\n%s", diff)
	}
	for i, data := range bytesCases {
		for _, opt := range []Options{{Method: Method{Exclusive: true}}, {Method: Method{Exclusive: true, Comments: true}}, {Method: Method{Exclusive: true}, InclusivePrefixes: "q #default"}} {
			for depth := 1; depth <= 3; depth++ {
				compareMatch(t, []byte(data), func(d int, _ string, _ []byte) bool { return d == depth }, opt, 0)
				compareMatch(t, []byte(data), func(d int, _ string, _ []byte) bool { return d == depth }, opt, 5+i)
			}
		}
	}
}

func TestCanonicalizeBytesMatch_errors(t *testing.T) {
	t.Parallel()
	stopped := new(atomic.Bool)
	stopped.Store(true)
	excl := Options{Method: Method{Exclusive: true}}
	anyElement := func(int, string, []byte) bool { return true }
	tests := []struct {
		name    string
		doc     string
		is      func(int, string, []byte) bool
		opt     Options
		g       Guard
		wantErr error
	}{
		{"inclusive", `<a/>`, anyElement, Options{}, Guard{}, ErrUnsupported},
		{"no matcher", `<a/>`, nil, excl, Guard{}, ErrUnsupported},
		{"no such element", `<a><b/></a>`, matchLocal(2, "", "c"), excl, Guard{}, ErrUnsupported},
		{"unbound prefix is no match", `<a><q:b/></a>`, matchLocal(2, "", "b"), excl, Guard{}, ErrUnsupported},
		{"too deep", `<a><b><c><d/></c></b></a>`, matchLocal(4, "", "d"), excl, Guard{MaxDepth: 3}, ErrUnsupported},
		{"too many attributes", `<a x="1" y="2" z="3"/>`, anyElement, excl, Guard{MaxAttributes: 2}, ErrUnsupported},
		{"stopped", `<a/>`, anyElement, excl, Guard{Stop: stopped}, ErrStopped},
		{"too large", `<a>text</a>`, anyElement, Options{Method: Method{Exclusive: true}, MaxBytes: 5}, Guard{}, ErrTooLarge},
		{"garbage", "<a \x00=>&#xFFFFFFFF;<</b>", anyElement, excl, Guard{}, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			_, err := CanonicalizeBytesMatch(&out, []byte(tc.doc), tc.is, tc.opt, 0, tc.g)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CanonicalizeBytesMatch(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
}

// FuzzCanonicalizeBytesMatch feeds CanonicalizeBytesMatch any bytes, as
// it reads a message no parser has judged yet: it must not panic, hang
// or return an undocumented error, and where the parser accepts the
// bytes its output is CanonicalizeBytes's for the element it found.
func FuzzCanonicalizeBytesMatch(f *testing.F) {
	for i, s := range bytesCases {
		f.Add([]byte(s), uint8(i), uint8(i), "q #default")
	}
	f.Add([]byte("<a \x00=>&#xFFFFFFFF;<</b>"), uint8(1), uint8(0), "")
	f.Add([]byte(`<s:E xmlns:s="urn:s"><s:B><x a="&#x3C;"/><![CDATA[<]]><!----></s:B></s:E>`), uint8(2), uint8(1), "")
	f.Fuzz(func(t *testing.T, data []byte, depth, method uint8, prefixes string) {
		opt := []Options{
			{Method: Method{Exclusive: true}},
			{Method: Method{Exclusive: true, Comments: true}},
			{Method: Method{Exclusive: true}, InclusivePrefixes: prefixes},
		}[int(method)%3]
		d := int(depth%4) + 1
		compareMatch(t, data, func(k int, _ string, _ []byte) bool { return k == d }, opt, int(method>>2)%7)
	})
}
