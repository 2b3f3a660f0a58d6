package soap

import (
	"errors"
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
	b := doc.Root().SelectElement("b")
	if NamespaceOf(b) != "urn:d" || AttrNamespace(b, &b.Attr[0]) != "urn:s" {
		t.Fatalf("namespaces of b = %q, attribute %q", NamespaceOf(b), AttrNamespace(b, &b.Attr[0]))
	}
}

// FuzzParse compares Parse with the encoding/xml based reference: whatever
// Parse accepts, the reference accepts too, into the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<a/>`, `<?xml version="1.0" encoding="UTF-8"?>` + "\n<a xmlns:p=\"urn:p\"><p:b x=\"1 &amp; 2\">t&#x41;</p:b><!--c--></a>\n",
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><![CDATA[x]]></s:Body></s:Envelope>`,
		"<a>\r\n<b c='\r\n'/></a>", `<a xml:lang="en">é</a>`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxDepth: 100, MaxAttributes: 64, MaxNamespaces: 100, MaxElements: 10000}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, n, err := Parse(data, lim)
		if err != nil {
			return
		}
		ref, rn, rerr := refParse(data, lim)
		if rerr != nil {
			t.Fatalf("Parse accepted %q, reference: %v", data, rerr)
		}
		foldAttrSpace(doc)
		foldAttrSpace(ref)
		got, _ := doc.WriteToString()
		want, _ := ref.WriteToString()
		if got != want || n != rn {
			t.Fatalf("Parse(%q) =\n%q (%d elements)\nreference\n%q (%d elements)", data, got, n, want, rn)
		}
	})
}

// foldAttrSpace turns the white space in attribute values into spaces.
// The reference, encoding/xml, does not normalize attribute values (XML
// 1.0, 3.3.3) and cannot tell a literal tab from a reference to one, so
// FuzzParse compares values with white space folded;
// TestParse_attributeValues checks the distinction.
func foldAttrSpace(doc *etree.Document) {
	fold := func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		for i := range e.Attr {
			e.Attr[i].Value = strings.Map(fold, e.Attr[i].Value)
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(&doc.Element)
}

func TestParse_attributeValues(t *testing.T) {
	t.Parallel()
	in := "<a b=\"x&#9;y&#10;z\tw\r\nv\rs&#13;&amp;\" xmlns:p=\" urn:p\"/>"
	doc, _, err := Parse([]byte(in), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if got, want := root.SelectAttrValue("b", ""), "x\ty\nz w v s\r&"; got != want {
		t.Errorf("b = %q, want %q", got, want)
	}
	// A namespace name is an attribute value too.
	if got := root.SelectAttrValue("xmlns:p", ""); got != " urn:p" {
		t.Errorf("xmlns:p = %q", got)
	}
	var ids []string
	if _, err := ScanFragment([]byte("<x Id=\"a\tb\"/>"), FragmentCheck{ID: func(id string) error { ids = append(ids, id); return nil }}); err != nil || len(ids) != 1 || ids[0] != "a b" {
		t.Errorf("Id values = %q, %v; want [\"a b\"]", ids, err)
	}
}
