package c14n

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// elementsOf returns the elements of doc in document order.
func elementsOf(doc *etree.Document) []*etree.Element {
	var els []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		els = append(els, e)
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	if doc.Root() != nil {
		walk(doc.Root())
	}
	return els
}

func qnameOf(el *etree.Element) string {
	if el.Space == "" {
		return el.Tag
	}
	return el.Space + ":" + el.Tag
}

// compareBytes canonicalizes element k of data both from the tree the
// module's parser reads and from the bytes, and reports a difference.
// It returns false if the parser refuses data.
func compareBytes(t *testing.T, data []byte, k int, opt Options, lim xmlscan.Limits) bool {
	t.Helper()
	doc, _, err := xmlscan.Parse(data, lim)
	if err != nil {
		return false
	}
	els := elementsOf(doc)
	el := els[k%len(els)]
	var fromTree, fromBytes bytes.Buffer
	_, treeErr := Canonicalize(&fromTree, el, opt)
	_, _, bytesErr := CanonicalizeBytes(&fromBytes, data, k%len(els), qnameOf(el), opt, 0)
	if treeErr != nil || bytesErr != nil {
		for _, s := range []error{ErrUnboundPrefix, ErrUnsupported, ErrTooLarge} {
			if errors.Is(treeErr, s) != errors.Is(bytesErr, s) {
				t.Fatalf("element %d of %q (%+v): Canonicalize error = %v, CanonicalizeBytes error = %v", k%len(els), data, opt, treeErr, bytesErr)
			}
		}
		if treeErr == nil || bytesErr == nil {
			t.Fatalf("element %d of %q (%+v): Canonicalize error = %v, CanonicalizeBytes error = %v", k%len(els), data, opt, treeErr, bytesErr)
		}
		return true
	}
	if diff := cmp.Diff(fromTree.String(), fromBytes.String()); diff != "" {
		t.Fatalf("element %d of %q (%+v): CanonicalizeBytes differs from Canonicalize (-tree +bytes):\n%s", k%len(els), data, opt, diff)
	}
	return true
}

var bytesCases = []string{
	`<n0:a xmlns:n0="urn:0" xmlns:n1="urn:1" xmlns="urn:d"><n1:b><c n0:x="1" b="2" a="3"/></n1:b></n0:a>`,
	`<a xmlns="urn:d"><b><c xmlns=""><d xmlns=""/></c></b></a>`,
	`<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1"/></p:b></p:a>`,
	"<a b=\"&lt;&amp;&quot;&#9;&#10;&#13;'&gt;\" c='\"x\"' >&lt;&amp;&gt;&#13;\"'<!-- c --><![CDATA[ x <&> \r\n ]]>\r\n\r</a>",
	`<a xmlns:q="urn:q" xml:lang="en"><b><c xmlns:q="urn:q2" q:x="1"/><d xmlns:q="urn:q"/></b></a>`,
	"\xef\xbb\xbf<?xml version=\"1.0\"?><!-- before --><s:E xmlns:s=\"urn:s\" xmlns:w=\"urn:w\"><s:H><w:T w:Id=\"t\">x</w:T></s:H><s:B w:Id=\"b\" ><r  z = 'a&#x3C;b'  a=\"&#xE9;\"\n/>caf\xc3\xa9 &#x1F600;</s:B  ></s:E><!-- after -->",
	`<a xmlns:u="urn:u"><b u:x="1" xmlns:u="urn:v"><c/></b><u:d/></a>`,
	`<a><b xmlns:p="urn:p"><p:c/></b><d p:e="1" xmlns:p="urn:p"/></a>`,
	// Start tags that declare nothing and use prefixes shown already,
	// next to tags that change a scope: siblings that each show a
	// prefix again, a redeclaration to another URI and back, the
	// default namespace undone, and attributes whose order by URI
	// differs from their order by prefix.
	`<r xmlns="urn:d" xmlns:a="urn:z" xmlns:b="urn:y"><a:e b:t="1" a:t="2" u="3"><a:f a:t="2" b:t="1"/><a:f a:t="2"/></a:e><a:e b:t="1"><b:g/></a:e><a:e xmlns:a="urn:x"><a:f a:t="1"/><a:f xmlns:a="urn:z" a:t="1"/><a:f/></a:e><a:e><h xmlns=""><i/><j xmlns="urn:d"><k/></j></h><l/></a:e><xml:m/><b:g xml:lang="en" a:x="1"/></r>`,
	// Long text, with and without bytes to rewrite, first and last.
	"<a>" + strings.Repeat("x", 300) + "&amp;&gt;>\r\n\r" + strings.Repeat("y", 300) + "</a>",
	"<a><b>" + strings.Repeat("z", 300) + "</b>&#13;" + strings.Repeat("w", 300) + "\r</a>",
	"<a>" + strings.Repeat("v", 299) + "></a>",
	"<a>" + strings.Repeat("u", 300) + "\r\n\r" + strings.Repeat("t", 300) + "&lt;</a>",
	// Tags repeated as written, inside and outside a scope that binds
	// their prefix to another URI, or declares a default namespace.
	`<r xmlns:a="urn:a"><a:entry a:t="1">x</a:entry><a:entry a:t="1">y</a:entry><b xmlns:a="urn:b"><a:entry a:t="1">z</a:entry><a:entry a:t="1">z</a:entry></b><a:entry a:t="1">w</a:entry><c xmlns="urn:c"><a:entry a:t="1"><entries/><entries/></a:entry></c><entries/><entries>v</entries><a:entry a:t="1"/></r>`,
	// Such tags written other than canonically.
	"<r xmlns:a=\"urn:a\"><a:e a:t=\"0\"><a:f  a:t=\"1\">x</a:f><a:f\ta:t=\"1\" >y</a:f><a:f a:t = \"1\">z</a:f><a:f a:t='1'>w</a:f><a:f a:t=\"a&amp;b\">v</a:f ><a:f a:t=\"a\nb\">u</a:f\n><a:f a:t=\"1\"/><a:f a:t=\"1\"></a:f></a:e></r>",
}

// TestCanonicalizeBytes checks that canonicalizing from the bytes writes
// what canonicalizing the parsed tree writes, for every element of each
// case, in every exclusive method.
func TestCanonicalizeBytes(t *testing.T) {
	t.Parallel()
	opts := []Options{
		{Method: Method{Exclusive: true}},
		{Method: Method{Exclusive: true, Comments: true}},
		{Method: Method{Exclusive: true}, InclusivePrefixes: "q #default p u"},
	}
	for i, data := range bytesCases {
		for _, lim := range []xmlscan.Limits{{}, {AllowAttrBreaks: true}} {
			doc, _, err := xmlscan.Parse([]byte(data), lim)
			if err != nil {
				if lim.AllowAttrBreaks {
					t.Fatalf("case %d: Parse error = %v", i, err)
				}
				continue
			}
			for k := range elementsOf(doc) {
				for _, opt := range opts {
					compareBytes(t, []byte(data), k, opt, lim)
				}
			}
		}
	}
}

func TestCanonicalizeBytes_errors(t *testing.T) {
	t.Parallel()
	doc := []byte(`<a xmlns:p="urn:p"><p:b>text</p:b></a>`)
	tests := []struct {
		name    string
		doc     []byte
		n       int
		qname   string
		opt     Options
		maxSkip int64
		wantErr error
	}{
		{"inclusive", doc, 0, "a", Options{}, 0, ErrUnsupported},
		{"wrong name", doc, 1, "b", Options{Method: Method{Exclusive: true}}, 0, ErrUnsupported},
		{"no such element", doc, 2, "c", Options{Method: Method{Exclusive: true}}, 0, ErrUnsupported},
		{"unterminated", doc[:20], 1, "p:b", Options{Method: Method{Exclusive: true}}, 0, ErrUnsupported},
		{"bad reference", []byte(`<a>&bogus;</a>`), 0, "a", Options{Method: Method{Exclusive: true}}, 0, ErrUnsupported},
		{"unbound", []byte(`<a><q:b/></a>`), 1, "q:b", Options{Method: Method{Exclusive: true}}, 0, ErrUnboundPrefix},
		{"too large", doc, 1, "p:b", Options{Method: Method{Exclusive: true}, MaxBytes: 30}, 0, ErrTooLarge},
		{"too far", doc, 1, "p:b", Options{Method: Method{Exclusive: true}}, 18, ErrTooLarge},
		{"empty", nil, 0, "a", Options{Method: Method{Exclusive: true}}, 0, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			_, _, err := CanonicalizeBytes(&out, tc.doc, tc.n, tc.qname, tc.opt, tc.maxSkip)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CanonicalizeBytes(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
}

func TestCanonicalizeBytes_count(t *testing.T) {
	t.Parallel()
	doc := []byte(`<a xmlns:p="urn:p"><p:b>text</p:b></a>`)
	var out bytes.Buffer
	n, skipped, err := CanonicalizeBytes(&out, doc, 1, "p:b", Options{Method: Method{Exclusive: true}}, 19)
	if err != nil {
		t.Fatal(err)
	}
	want := `<p:b xmlns:p="urn:p">text</p:b>`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("CanonicalizeBytes output (-want +got):\n%s", diff)
	}
	if n != int64(len(want)) || skipped != int64(strings.Index(string(doc), "<p:b")) {
		t.Errorf("CanonicalizeBytes counts = %d, %d, want %d, %d", n, skipped, len(want), strings.Index(string(doc), "<p:b"))
	}
}

// FuzzCanonicalizeBytes compares, for any element of any document the
// module's parser accepts, the canonical form read from the bytes with
// the one read from the tree, in every exclusive method.
func FuzzCanonicalizeBytes(f *testing.F) {
	for i, s := range bytesCases {
		f.Add([]byte(s), uint8(i), uint8(i), "q #default")
	}
	f.Fuzz(func(t *testing.T, data []byte, pick, method uint8, prefixes string) {
		opt := []Options{
			{Method: Method{Exclusive: true}},
			{Method: Method{Exclusive: true, Comments: true}},
			{Method: Method{Exclusive: true}, InclusivePrefixes: prefixes},
		}[int(method)%3]
		compareBytes(t, data, int(pick), opt, xmlscan.Limits{AllowAttrBreaks: method&4 != 0})
	})
}
