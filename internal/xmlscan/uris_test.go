package xmlscan

import (
	"os"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
)

// walkPrefix is the plain resolution the table replaces: the nearest
// declaration of prefix among el and its ancestors.
func walkPrefix(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if prefix == "" && a.Space == "" && a.Key == "xmlns" {
				return a.Value
			}
			if prefix != "" && a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

// walkInScope is the plain collection of the declarations in scope.
func walkInScope(el *etree.Element) map[string]string {
	m := map[string]string{}
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			p, ok := "", false
			switch {
			case a.Space == "" && a.Key == "xmlns":
				ok = true
			case a.Space == "xmlns":
				p, ok = a.Key, true
			}
			if _, seen := m[p]; ok && !seen {
				m[p] = a.Value
			}
		}
	}
	return m
}

func walkElement(el *etree.Element) string {
	if el.Space == "xml" {
		return NSXML
	}
	return walkPrefix(el, el.Space)
}

// checkNames compares tr's table with the walk for every element of the
// tree and every prefix its attributes use, and reports the first
// difference.
func checkNames(t *testing.T, data []byte, tr *Tree) {
	t.Helper()
	n := 0
	stack := []*etree.Element{tr.Doc.Root()}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		got, ok := tr.Names.Element(el)
		if want := walkElement(el); !ok || got != want {
			t.Fatalf("ParseTree(%q): Names.Element(%s) = %q, %v, want %q", data, el.FullTag(), got, ok, want)
		}
		for _, a := range el.Attr {
			if a.Space == "" || a.Space == "xmlns" {
				continue
			}
			got, ok := tr.Names.Prefix(el, a.Space)
			if want := walkPrefix(el, a.Space); !ok || got != want {
				t.Fatalf("ParseTree(%q): Names.Prefix(%s, %q) = %q, %v, want %q", data, el.FullTag(), a.Space, got, ok, want)
			}
		}
		for _, p := range []string{"", "xml", "p", "q"} {
			got, ok := tr.Names.Prefix(el, p)
			if want := walkPrefix(el, p); !ok || got != want {
				t.Fatalf("ParseTree(%q): Names.Prefix(%s, %q) = %q, %v, want %q", data, el.FullTag(), p, got, ok, want)
			}
		}
		scope, ok := tr.Names.InScope(el)
		if diff := cmp.Diff(walkInScope(el), scope); !ok || diff != "" {
			t.Fatalf("ParseTree(%q): Names.InScope(%s) (-walk +table):\n%s", data, el.FullTag(), diff)
		}
		stack = append(stack, el.ChildElements()...)
	}
	if n != tr.Names.known() || n != tr.Elements {
		t.Fatalf("ParseTree(%q): %d elements in the tree, %d in Names, %d counted", data, n, tr.Names.known(), tr.Elements)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"none", `<a><b c="1"/></a>`},
		{"default", `<a xmlns="urn:d"><b/><c xmlns=""><d/></c></a>`},
		{"prefixes", `<p:a xmlns:p="urn:p" xmlns:q="urn:q"><q:b p:x="1" q:y="2"/></p:a>`},
		{"shadowed", `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2" p:x="1"><p:c/></p:b><p:d p:y="2"/></p:a>`},
		{"xml", `<a xmlns:xml="` + NSXML + `" xml:lang="en"><xml:b/></a>`},
		{"siblings", `<a><b xmlns:p="urn:b"><p:c/></b><d xmlns:p="urn:d"><p:e/></d></a>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := ParseTree([]byte(tc.in), Limits{}, nil)
			if err != nil {
				t.Fatalf("ParseTree(%s) error = %v", tc.in, err)
			}
			checkNames(t, []byte(tc.in), tr)
		})
	}
}

func TestNames_unknown(t *testing.T) {
	t.Parallel()
	tr, err := ParseTree([]byte(`<a xmlns="urn:d"/>`), Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	added := tr.Doc.Root().CreateElement("b")
	var none *Names
	for _, n := range []*Names{tr.Names, none} {
		if u, ok := n.Element(added); ok || u != "" {
			t.Errorf("Element(added) = %q, %v, want \"\", false", u, ok)
		}
		if u, ok := n.Prefix(added, ""); ok || u != "" {
			t.Errorf("Prefix(added) = %q, %v, want \"\", false", u, ok)
		}
		if m, ok := n.InScope(added); ok || m != nil {
			t.Errorf("InScope(added) = %v, %v, want nil, false", m, ok)
		}
	}
}

func TestNames_opaque(t *testing.T) {
	t.Parallel()
	in := `<a xmlns:p="urn:p"><p:b><c xmlns:q="urn:q"><q:d/></c></p:b><p:e/></a>`
	op := &Opaque{Is: func(_ int, ns string, local []byte) bool { return ns == "urn:p" && string(local) == "b" }}
	tr, err := ParseTree([]byte(in), Limits{}, op)
	if err != nil {
		t.Fatal(err)
	}
	if op.Element == nil || tr.Names.known() != 3 {
		t.Fatalf("ParseTree(opaque) = %d elements known, opaque %v; want 3 and the element", tr.Names.known(), op.Element)
	}
	if u, ok := tr.Names.Element(op.Element); !ok || u != "urn:p" {
		t.Fatalf("Element(opaque) = %q, %v, want urn:p", u, ok)
	}
}

// FuzzNamespaces compares the namespace table of every tree ParseTree
// builds with the walk over the ancestors' declarations, for every
// element, every prefix its attributes use and the declarations in
// scope.
func FuzzNamespaces(f *testing.F) {
	for _, s := range []string{
		`<a/>`, `<p:a xmlns:p="urn:p" xmlns="urn:d"><b p:x="1"><p:c xmlns:p="urn:2" xmlns=""/></b></p:a>`,
		`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><q:h xmlns:q="urn:q" q:id="1"/></s:Header><s:Body/></s:Envelope>`,
		`<a xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"><b xmlns:p="urn:p"/><p:c xmlns:p="urn:c"/></a>`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxDepth: 100, MaxAttributes: 64, MaxNamespaces: 100, MaxElements: 10000}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTree(data, lim, nil)
		if err != nil {
			return
		}
		checkNames(t, data, tr)
	})
}

// BenchmarkParseTree measures what the namespace table adds to reading a
// signed and encrypted response, against Parse, which builds none.
func BenchmarkParseTree(b *testing.B) {
	data, err := os.ReadFile("../../wssec/testdata/signed-encrypted.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Parse(data, Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseTree", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseTree(data, Limits{}, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
