package xmlscan

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

func TestParse(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxDepth: 5, MaxElements: 10, MaxAttributes: 4, MaxNamespaces: 4, MaxAttrValue: 16, MaxNameBytes: 32}
	tests := []struct {
		name      string
		in        string
		wantErr   error
		wantLimit string
	}{
		{"ok", `<?xml version="1.0" encoding="utf-8"?>` + "\n<a xmlns:p=\"urn:p\"><p:b x=\"1\"/><!-- c --></a>\n", nil, ""},
		{"bom", "\xef\xbb\xbf<a/>", nil, ""},
		{"empty", "", ErrSyntax, ""},
		{"no root", "<!-- only -->", ErrSyntax, ""},
		{"two roots", "<a/><b/>", ErrSyntax, ""},
		{"text outside", "<a/>text", ErrSyntax, ""},
		{"unclosed", "<a><b></a>", ErrSyntax, ""},
		{"stray end", "<a></a></b>", ErrSyntax, ""},
		{"doctype", `<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, ErrSyntax, ""},
		{"unknown entity", `<a>&x;</a>`, ErrSyntax, ""},
		{"pi", `<a><?php x?></a>`, ErrSyntax, ""},
		{"late declaration", `<!-- c --><?xml version="1.0"?><a/>`, ErrSyntax, ""},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, ErrSyntax, ""},
		{"declaration without encoding value", `<?xml 0encoding=?><a/>`, ErrSyntax, ""},
		{"declaration with unquoted encoding", `<?xml version="1.0" encoding=utf-8?><a/>`, ErrSyntax, ""},
		{"declaration with single quotes", `<?xml version='1.0' encoding='UTF-8'?><a/>`, nil, ""},
		{"unbound element prefix", `<p:a/>`, ErrSyntax, ""},
		{"unbound attribute prefix", `<a p:x="1"/>`, ErrSyntax, ""},
		{"undeclare prefix", `<a xmlns:p=""/>`, ErrSyntax, ""},
		{"rebind xmlns", `<a xmlns:xmlns="urn:x"/>`, ErrSyntax, ""},
		{"duplicate attribute", `<a x="1" x="2"/>`, ErrSyntax, ""},
		{"duplicate expanded attribute", `<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>`, ErrSyntax, ""},
		{"xml prefix", `<a xml:lang="en" xml:id="i"/>`, nil, ""},
		{"character reference beyond U+10FFFF wrapping to <", `<a>&#x10000003C;</a>`, ErrSyntax, ""},
		{"decimal character reference beyond U+10FFFF", `<a b="&#4294967356;"/>`, ErrSyntax, ""},
		{"largest character reference", `<a>&#x10FFFF;&#1114111;</a>`, nil, ""},
		{"repeated encoding in declaration", `<?xml version="1.0" encoding="UTF-8" encoding="ISO-8859-1"?><a/>`, ErrSyntax, ""},
		{"repeated version in declaration", `<?xml version="1.0" version="1.1"?><a/>`, ErrSyntax, ""},
		{"standalone before encoding", `<?xml version="1.0" standalone="yes" encoding="UTF-8"?><a/>`, ErrSyntax, ""},
		{"unknown pseudo-attribute", `<?xml version="1.0" foo="bar"?><a/>`, ErrSyntax, ""},
		{"pseudo-attributes without space", `<?xml version="1.0"encoding="UTF-8"?><a/>`, ErrSyntax, ""},
		{"full declaration", `<?xml version = "1.0" encoding = 'utf-8' standalone="no" ?><a/>`, nil, ""},
		{"invalid standalone", `<?xml version="1.0" standalone="maybe"?><a/>`, ErrSyntax, ""},
		{"tab in attribute value", "<a x=\"1\t2\"/>", ErrSyntax, ""},
		{"line feed in attribute value", "<a x='1\n2'/>", ErrSyntax, ""},
		{"carriage return in attribute value", "<a x=\"1\r\n2\"/>", ErrSyntax, ""},
		{"referenced white space in attribute value", `<a x="1&#9;&#10;&#13;2"/>`, nil, ""},
		{"depth", "<a><a><a><a><a><a/></a></a></a></a></a>", nil, "MaxDepth"},
		{"elements", "<a><a>" + strings.Repeat("<b/>", 9) + "</a></a>", nil, "MaxElements"},
		{"attributes", `<a v="" w="" x="" y="" z=""/>`, nil, "MaxAttributes"},
		{"namespaces", `<a xmlns:a="urn:1" xmlns:b="urn:2"><b xmlns:c="urn:3" xmlns:d="urn:4"><c xmlns:e="urn:5"/></b></a>`, nil, "MaxNamespaces"},
		{"namespaces on siblings", `<a><b xmlns:a="urn:1" xmlns:b="urn:2" xmlns:c="urn:3"/><b xmlns:a="urn:1" xmlns:b="urn:2" xmlns:c="urn:3"/></a>`, nil, ""},
		{"attribute value", `<a x="0123456789abcdefg"/>`, nil, "MaxAttrValue"},
		{"name", "<" + strings.Repeat("n", 33) + "/>", nil, "MaxNameBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse([]byte(tc.in), lim)
			var le *LimitError
			switch {
			case tc.wantLimit != "":
				if !errors.As(err, &le) || le.Limit != tc.wantLimit {
					t.Fatalf("Parse(%s) error = %v, want limit %s", tc.name, err, tc.wantLimit)
				}
			case !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil):
				t.Fatalf("Parse(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
		})
	}
}

// Namespaces in XML 1.0, 3: the xml prefix and its namespace go
// together, and the xmlns namespace is never declared.
func TestParse_reservedNamespaces(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		wantErr  error
	}{
		{"xml bound to its namespace", `<a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>`, nil},
		{"xml bound elsewhere", `<a xmlns:xml="urn:x"/>`, ErrSyntax},
		{"other prefix bound to the xml namespace", `<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>`, ErrSyntax},
		{"default namespace the xml namespace", `<a xmlns="http://www.w3.org/XML/1998/namespace"/>`, ErrSyntax},
		{"prefix bound to the xmlns namespace", `<a xmlns:p="http://www.w3.org/2000/xmlns/"/>`, ErrSyntax},
		{"default namespace the xmlns namespace", `<a xmlns="http://www.w3.org/2000/xmlns/"/>`, ErrSyntax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse([]byte(tc.in), Limits{})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Parse(%s) error = %v, want %v", tc.in, err, tc.wantErr)
			}
			_, err = ScanFragment([]byte(tc.in), FragmentCheck{})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("ScanFragment(%s) error = %v, want %v", tc.in, err, tc.wantErr)
			}
		})
	}
}

func TestParse_roundTrip(t *testing.T) {
	t.Parallel()
	in := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:a xmlns:s="urn:s" xmlns="urn:d"><b s:x="1 &amp; 2">t<![CDATA[<c>]]></b><!--c--></s:a>`
	doc, n, err := Parse([]byte(in), Limits{})
	if err != nil || n != 2 {
		t.Fatalf("Parse() = %d elements, %v", n, err)
	}
	out, _ := doc.WriteToString()
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<s:a xmlns:s="urn:s" xmlns="urn:d"><b s:x="1 &amp; 2">t&lt;c&gt;</b><!--c--></s:a>`
	if out != want {
		t.Fatalf("round trip =\n%s\nwant\n%s", out, want)
	}
}

// FuzzParse compares Parse with the encoding/xml based reference: whatever
// Parse accepts, the reference accepts too, into the same tree, attribute
// values included (literal white space other than space, which the two
// would read differently, is refused).
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<a/>`, `<?xml version="1.0" encoding="UTF-8"?>` + "\n<a xmlns:p=\"urn:p\"><p:b x=\"1 &amp; 2\">t&#x41;</p:b><!--c--></a>\n",
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><![CDATA[x]]></s:Body></s:Envelope>`,
		"<a>\r\n<b c='&#13;&#10;&#9;'/></a>", `<a xml:lang="en">é</a>`, "<a b='\t'/>",
		`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a>&#x10FFFF;</a>`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxDepth: 100, MaxAttributes: 64, MaxNamespaces: 100, MaxElements: 10000}
	var sc Scratch // reused from one input to the next
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, n, err := Parse(data, lim)
		tr, serr := ParseTreeScratch(data, lim, nil, &sc)
		if (err == nil) != (serr == nil) {
			t.Fatalf("Parse(%q) error = %v, ParseTreeScratch %v", data, err, serr)
		}
		if err == nil {
			got, _ := tr.Doc.WriteToString()
			want, _ := doc.WriteToString()
			if got != want || tr.Elements != n {
				t.Fatalf("ParseTreeScratch(%q) =\n%q (%d elements)\nParse\n%q (%d elements)", data, got, tr.Elements, want, n)
			}
		}
		sc.Reset()
		if err != nil {
			return
		}
		ref, rn, rerr := refParse(data, lim)
		if rerr != nil {
			t.Fatalf("Parse accepted %q, reference: %v", data, rerr)
		}
		got, _ := doc.WriteToString()
		want, _ := ref.WriteToString()
		if got != want || n != rn {
			t.Fatalf("Parse(%q) =\n%q (%d elements)\nreference\n%q (%d elements)", data, got, n, want, rn)
		}
	})
}

func TestParse_attributeValues(t *testing.T) {
	t.Parallel()
	in := "<a b=\"x&#9;y&#10;z&#13;&amp; v\" xmlns:p=\" urn:p\"/>"
	doc, _, err := Parse([]byte(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if got, want := root.SelectAttrValue("b", ""), "x\ty\nz\r& v"; got != want {
		t.Errorf("b = %q, want %q", got, want)
	}
	// A namespace name is an attribute value too.
	if got := root.SelectAttrValue("xmlns:p", ""); got != " urn:p" {
		t.Errorf("xmlns:p = %q", got)
	}
	var ids []string
	if _, err := ScanFragment([]byte("<x Id=\"a&#9;b\"/>"), FragmentCheck{ID: func(id string) error { ids = append(ids, id); return nil }}); err != nil || len(ids) != 1 || ids[0] != "a\tb" {
		t.Errorf("Id values = %q, %v; want [\"a\\tb\"]", ids, err)
	}
	// Where allowed, literal white space is normalized.
	doc, _, err = Parse([]byte("<a b=\"x\ty\r\nz\rw\n&#9;\"/>"), Limits{AllowAttrBreaks: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := doc.Root().SelectAttrValue("b", ""), "x y z w \t"; got != want {
		t.Errorf("b (AllowAttrBreaks) = %q, want %q", got, want)
	}
	// Otherwise literal tab, line feed and carriage return are refused,
	// also in a start tag the scan has seen before but for its values.
	for _, v := range []string{"a\tb", "a\nb", "a\r\nb", "a\rb"} {
		frag := strings.Repeat(`<x v="ab"/>`, 200) + `<x v="` + v + `"/>`
		_, err := ScanFragment([]byte(frag), FragmentCheck{})
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("ScanFragment(value %q after 200 like it) error = %v, want %v", v, err, ErrSyntax)
		}
	}
}

// TestParse_manyAttributes covers the duplicate-attribute check of start
// tags with more than a few attributes, which sorts their keys.
func TestParse_manyAttributes(t *testing.T) {
	t.Parallel()
	decls := ""
	attrs := ""
	for i := range 10 {
		decls += fmt.Sprintf(` xmlns:p%d="urn:%d"`, i, i)
		attrs += fmt.Sprintf(` p%d:x="1"`, i)
	}
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"distinct namespaces", `<a` + decls + `><b` + attrs + ` x="1" y="2"/></a>`, nil},
		{"declarations and attributes", `<b` + decls + attrs + `/>`, nil},
		{"same name twice", `<a` + decls + `><b` + attrs + ` p3:x="2"/></a>`, ErrSyntax},
		{"two prefixes, one namespace", `<a` + decls + ` xmlns:q="urn:4"><b` + attrs + ` q:x="2"/></a>`, ErrSyntax},
		{"declaration twice", `<b` + decls + attrs + ` xmlns:p0="urn:0"/>`, ErrSyntax},
		{"default declaration twice", `<b` + decls + ` xmlns="urn:a" xmlns="urn:b"/>`, ErrSyntax},
		{"unprefixed twice", `<b` + decls + ` x="1" x="2"/>`, ErrSyntax},
		{"unprefixed and prefixed", `<b` + decls + ` x="1" p0:x="2" xmlns:x="urn:x"/>`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse([]byte(tc.in), Limits{})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Parse(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			_, ferr := ScanFragment([]byte(tc.in), FragmentCheck{})
			if (ferr == nil) != (err == nil) {
				t.Fatalf("ScanFragment(%s) error = %v, Parse error = %v", tc.name, ferr, err)
			}
		})
	}
}

// TestParse_editTree edits a parsed tree whose elements and attribute
// lists were carved from shared slabs: adding an attribute to one element,
// adding children to it, or renaming it, must leave its neighbours as
// they were.
func TestParse_editTree(t *testing.T) {
	t.Parallel()
	var in, want strings.Builder
	in.WriteString(`<r>`)
	want.WriteString(`<r>`)
	for i := range 40 { // more than the first slabs hold
		fmt.Fprintf(&in, `<p:e xmlns:p="urn:p" a="%d" b="x">t</p:e>`, i)
		if i%2 == 0 {
			fmt.Fprintf(&want, `<p:f xmlns:p="urn:p" a="%d" b="x" c="%d">t<k/><k/></p:f>`, i, i)
		} else {
			fmt.Fprintf(&want, `<p:e xmlns:p="urn:p" a="%d" b="x">t</p:e>`, i)
		}
	}
	in.WriteString(`</r>`)
	want.WriteString(`</r>`)
	doc, _, err := Parse([]byte(in.String()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i, el := range doc.Root().ChildElements() {
		if i%2 == 0 {
			el.CreateAttr("c", fmt.Sprint(i))
			el.Tag = "f"
			for range 2 { // one more than the slab leaves room for
				el.CreateElement("k")
			}
		}
	}
	got, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Errorf("edited tree =\n%s\nwant\n%s", got, want.String())
	}
}

// TestParse_srcStrings checks that a small document, whose tree takes its
// strings from one copy of the document, reads as a large one does, whose
// values are copied one by one.
func TestParse_srcStrings(t *testing.T) {
	t.Parallel()
	lim := Limits{AllowAttrBreaks: true}
	docs := []struct{ name, in string }{
		{"plain", `<a x="1" y="two"><b>text</b><c/>tail</a>`},
		{"references", `<a x="&lt;&#x9;&amp;" y="&quot;q&quot;"><b>&lt;x&gt; &amp; &#65;</b></a>`},
		{"line ends", "<a x=\"1\r\n2\t3\n4\">line\r\nend\rlone\n</a>"},
		{"namespaces", `<p:a xmlns:p="urn:p" xmlns="urn:d" p:x="v"><b p:y="w">t</b></p:a>`},
		{"cdata and comments", "<a><![CDATA[x\r\ny]]><!-- c -->z</a>"},
		{"declaration", "<?xml version=\"1.0\"?>\n<a>x</a>"},
	}
	for _, tc := range docs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			small, _, err := Parse([]byte(tc.in), lim)
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tc.in, err)
			}
			// Trailing white space outside the root takes the document
			// beyond srcMax without changing its root.
			large, _, err := Parse([]byte(tc.in+strings.Repeat(" ", srcMax)), lim)
			if err != nil {
				t.Fatalf("Parse(%q + white space) error = %v", tc.in, err)
			}
			write := func(doc *etree.Document) string {
				var b strings.Builder
				doc.Root().WriteTo(&b, &etree.WriteSettings{CanonicalAttrVal: true, CanonicalText: true})
				return b.String()
			}
			got, want := write(small), write(large)
			if got != want {
				t.Errorf("Parse(%q) root = %q, want %q as from a large document", tc.in, got, want)
			}
		})
	}
}
