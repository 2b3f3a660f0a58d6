package c14n

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// find returns the first element of doc whose local name is tag.
func find(t testing.TB, doc *etree.Document, tag string) *etree.Element {
	t.Helper()
	if doc.Root().Tag == tag {
		return doc.Root()
	}
	el := doc.Root().FindElement(".//" + tag)
	if el == nil {
		t.Fatalf("no element %s", tag)
	}
	return el
}

func parse(t testing.TB, in string) *etree.Document {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(in); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestCanonicalize(t *testing.T) {
	t.Parallel()
	exc := Options{Method: Method{Exclusive: true}}
	excC := Options{Method: Method{Exclusive: true, Comments: true}}
	inc := Options{}
	inc11 := Options{Method: Method{V11: true}}
	tests := []struct {
		name    string
		in      string
		apex    string
		opt     Options
		want    string
		wantErr error
	}{
		{
			name: "exclusive drops unused ancestor declarations",
			in:   `<n0:a xmlns:n0="urn:0" xmlns:n1="urn:1" xmlns="urn:d"><n1:b><c n0:x="1" b="2" a="3"/></n1:b></n0:a>`,
			apex: "b", opt: exc,
			want: `<n1:b xmlns:n1="urn:1"><c xmlns="urn:d" xmlns:n0="urn:0" a="3" b="2" n0:x="1"></c></n1:b>`,
		},
		{
			name: "inclusive keeps every declaration in scope",
			in:   `<n0:a xmlns:n0="urn:0" xmlns:n1="urn:1" xmlns="urn:d"><n1:b><c n0:x="1"/></n1:b></n0:a>`,
			apex: "b", opt: inc,
			want: `<n1:b xmlns="urn:d" xmlns:n0="urn:0" xmlns:n1="urn:1"><c n0:x="1"></c></n1:b>`,
		},
		{
			name: "prefix list",
			in:   `<a xmlns:p="urn:p" xmlns:q="urn:q" xmlns="urn:d"><p:b><c/></p:b></a>`,
			apex: "b", opt: Options{Method: Method{Exclusive: true}, InclusivePrefixes: "q #default"},
			want: `<p:b xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q"><c></c></p:b>`,
		},
		{
			name: "prefix list declaration on a descendant",
			in:   `<a xmlns:q="urn:q"><b><c xmlns:q="urn:q2"/><d xmlns:q="urn:q"/></b></a>`,
			apex: "b", opt: Options{Method: Method{Exclusive: true}, InclusivePrefixes: "q"},
			want: `<b xmlns:q="urn:q"><c xmlns:q="urn:q2"></c><d></d></b>`,
		},
		{
			name: "empty default undone only where the output shows one",
			in:   `<a xmlns="urn:d"><b><c xmlns=""><d xmlns=""/></c></b></a>`,
			apex: "b", opt: exc,
			want: `<b xmlns="urn:d"><c xmlns=""><d></d></c></b>`,
		},
		{
			name: "no empty default at the apex",
			in:   `<a><b xmlns=""><c/></b></a>`,
			apex: "b", opt: inc,
			want: `<b><c></c></b>`,
		},
		{
			name: "redeclaration with another URI is shown again",
			in:   `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1"/></p:b></p:a>`,
			apex: "a", opt: exc,
			want: `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1"></p:c></p:b></p:a>`,
		},
		{
			name: "redundant declaration dropped",
			in:   `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:1"/></p:a>`,
			apex: "a", opt: inc,
			want: `<p:a xmlns:p="urn:1"><p:b></p:b></p:a>`,
		},
		{
			name: "attributes sorted by namespace URI then local name",
			in:   `<a xmlns:z="urn:a" xmlns:b="urn:b"><e b:y="1" z:y="2" y="3" xml:lang="en" b:a="4"/></a>`,
			apex: "e", opt: exc,
			want: `<e xmlns:b="urn:b" xmlns:z="urn:a" y="3" xml:lang="en" z:y="2" b:a="4" b:y="1"></e>`,
		},
		{
			name: "escaping",
			in:   "<a b=\"&lt;&amp;&quot;&#9;&#10;&#13;'&gt;\">&lt;&amp;&gt;&#13;\"'</a>",
			apex: "a", opt: exc,
			want: "<a b=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;'>\">&lt;&amp;&gt;&#xD;\"'</a>",
		},
		{
			name: "cdata is text",
			in:   `<a><![CDATA[<x> & y]]></a>`,
			apex: "a", opt: exc,
			want: `<a>&lt;x&gt; &amp; y</a>`,
		},
		{
			name: "comments dropped",
			in:   `<a><!-- c --><b/></a>`,
			apex: "a", opt: exc,
			want: `<a><b></b></a>`,
		},
		{
			name: "comments kept",
			in:   `<a><!-- c --><b/></a>`,
			apex: "a", opt: excC,
			want: `<a><!-- c --><b></b></a>`,
		},
		{
			name: "inclusive 1.0 inherits xml attributes",
			in:   `<a xml:lang="en" xml:id="i" xml:space="preserve"><b xml:lang="de"><c/></b></a>`,
			apex: "c", opt: inc,
			want: `<c xml:id="i" xml:lang="de" xml:space="preserve"></c>`,
		},
		{
			name: "inclusive 1.1 does not inherit xml:id",
			in:   `<a xml:lang="en" xml:id="i"><c/></a>`,
			apex: "c", opt: inc11,
			want: `<c xml:lang="en"></c>`,
		},
		{
			name: "exclusive inherits no xml attributes",
			in:   `<a xml:lang="en"><c/></a>`,
			apex: "c", opt: exc,
			want: `<c></c>`,
		},
		{
			name: "inclusive 1.1 refuses an inherited xml:base",
			in:   `<a xml:base="http://x/"><c/></a>`,
			apex: "c", opt: inc11,
			wantErr: ErrUnsupported,
		},
		{
			name: "unbound element prefix",
			in:   `<p:a/>`,
			apex: "a", opt: exc,
			wantErr: ErrUnboundPrefix,
		},
		{
			name: "unbound attribute prefix",
			in:   `<a p:x="1"/>`,
			apex: "a", opt: inc,
			wantErr: ErrUnboundPrefix,
		},
		{
			name: "byte limit",
			in:   `<a>0123456789</a>`,
			apex: "a", opt: Options{Method: Method{Exclusive: true}, MaxBytes: 10},
			wantErr: ErrTooLarge,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := parse(t, tc.in)
			var b bytes.Buffer
			n, err := Canonicalize(&b, find(t, doc, tc.apex), tc.opt)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Canonicalize(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("Canonicalize(%s) mismatch (-want +got):\n%s", tc.name, diff)
			}
			if n != int64(b.Len()) {
				t.Errorf("Canonicalize(%s) = %d bytes, wrote %d", tc.name, n, b.Len())
			}
		})
	}
}

func TestCanonicalize_nil(t *testing.T) {
	t.Parallel()
	if _, err := Canonicalize(&bytes.Buffer{}, nil, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Canonicalize(nil) error = %v, want %v", err, ErrUnsupported)
	}
}

type failWriter struct{}

var errWrite = errors.New("write failed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestCanonicalize_writeError(t *testing.T) {
	t.Parallel()
	doc := parse(t, `<a>`+strings.Repeat("<b>x</b>", 10000)+`</a>`)
	if _, err := Canonicalize(failWriter{}, doc.Root(), Options{}); !errors.Is(err, errWrite) {
		t.Errorf("Canonicalize(failing writer) error = %v, want %v", err, errWrite)
	}
}

func TestMethodFor(t *testing.T) {
	t.Parallel()
	for _, uri := range []string{ExclusiveURI, ExclusiveWithCommentsURI, Inclusive10URI, Inclusive10WithCommentsURI, Inclusive11URI, Inclusive11WithCommentsURI} {
		m, ok := MethodFor(uri)
		if !ok || m.Comments != strings.HasSuffix(uri, "#WithComments") || m.Exclusive != strings.Contains(uri, "exc") {
			t.Errorf("MethodFor(%s) = %+v, %v", uri, m, ok)
		}
	}
	if _, ok := MethodFor("urn:unknown"); ok {
		t.Error("MethodFor(urn:unknown) = true, want false")
	}
}

// reference canonicalizes el with goxmldsig, on a detached copy.
func reference(el *etree.Element, opt Options) ([]byte, error) {
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	var c dsig.Canonicalizer
	switch {
	case opt.Exclusive && opt.Comments:
		c = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(opt.InclusivePrefixes)
	case opt.Exclusive:
		c = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(opt.InclusivePrefixes)
	case opt.V11 && opt.Comments:
		c = dsig.MakeC14N11WithCommentsCanonicalizer()
	case opt.V11:
		c = dsig.MakeC14N11Canonicalizer()
	case opt.Comments:
		c = dsig.MakeC14N10WithCommentsCanonicalizer()
	default:
		c = dsig.MakeC14N10RecCanonicalizer()
	}
	return c.Canonicalize(detached)
}

// TestCanonicalize_signedVectors compares every element with an Id in the
// WSS4J-signed vectors, and every SignedInfo, with goxmldsig's canonical
// form, in all the methods.
func TestCanonicalize_signedVectors(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "signed", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no signed vectors: %v", err)
	}
	methods := []Options{
		{Method: Method{Exclusive: true}},
		{Method: Method{Exclusive: true}, InclusivePrefixes: "wsse soapenv #default"},
		{Method: Method{Exclusive: true, Comments: true}},
		{},
		{Method: Method{V11: true}},
	}
	compared := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			t.Fatal(err)
		}
		var els []*etree.Element
		var walk func(*etree.Element)
		walk = func(e *etree.Element) {
			for _, a := range e.Attr {
				if a.Key == "Id" || e.Tag == "SignedInfo" {
					els = append(els, e)
					break
				}
			}
			for _, c := range e.ChildElements() {
				walk(c)
			}
		}
		walk(doc.Root())
		for _, el := range els {
			for _, opt := range methods {
				want, err := reference(el, opt)
				if err != nil {
					t.Fatalf("%s: goxmldsig: %v", f, err)
				}
				var got bytes.Buffer
				if _, err := Canonicalize(&got, el, opt); err != nil {
					t.Fatalf("%s %s: %v", filepath.Base(f), el.Tag, err)
				}
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("%s %s %+v mismatch (-goxmldsig +got):\n%s", filepath.Base(f), el.Tag, opt, diff)
				}
				compared++
			}
		}
	}
	if compared < 100 {
		t.Errorf("compared %d canonical forms, want at least 100", compared)
	}
}
