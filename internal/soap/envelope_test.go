package soap

import (
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

const s11 = `xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"`
const wsse = `xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"`

func envelope(t *testing.T, in string) (*Envelope, error) {
	t.Helper()
	tr, err := xmlscan.ParseTree([]byte(in), xmlscan.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewEnvelope(tr.Doc, tr.Names)
}

func TestNewEnvelope(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in string
		ok bool
	}{
		"soap11":         {`<s:Envelope ` + s11 + `><s:Header/><s:Body/></s:Envelope>`, true},
		"soap12":         {`<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"> <e:Body/> </e:Envelope>`, true},
		"default ns":     {`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body/></Envelope>`, true},
		"wrong ns":       {`<s:Envelope xmlns:s="urn:x"><s:Body/></s:Envelope>`, false},
		"no body":        {`<s:Envelope ` + s11 + `><s:Header/></s:Envelope>`, false},
		"header after":   {`<s:Envelope ` + s11 + `><s:Body/><s:Header/></s:Envelope>`, false},
		"two headers":    {`<s:Envelope ` + s11 + `><s:Header/><s:Header/><s:Body/></s:Envelope>`, false},
		"trailing":       {`<s:Envelope ` + s11 + `><s:Body/><s:Extra/></s:Envelope>`, false},
		"text":           {`<s:Envelope ` + s11 + `>x<s:Body/></s:Envelope>`, false},
		"mixed versions": {`<s:Envelope ` + s11 + ` xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></s:Envelope>`, false},
	} {
		_, err := envelope(t, tc.in)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrSyntax)) {
			t.Errorf("NewEnvelope(%s) error = %v, want ok=%v", name, err, tc.ok)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	env, err := envelope(t, `<s:Envelope `+s11+` `+wsse+`><s:Header>
<wsse:Security/><wsse:Security s:actor="urn:proxy"/><wsse:Security s:actor=" urn:proxy "/><x:Security xmlns:x="urn:other"/>
</s:Header><s:Body/></s:Envelope>`)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(env.SecurityHeaders("")); got != 1 {
		t.Errorf("SecurityHeaders(\"\") = %d headers, want 1", got)
	}
	if got := len(env.SecurityHeaders("urn:proxy")); got != 2 {
		t.Errorf("SecurityHeaders(urn:proxy) = %d headers, want 2", got)
	}
	env12, err := envelope(t, `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" `+wsse+`><e:Header><wsse:Security e:role="http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver"/></e:Header><e:Body/></e:Envelope>`)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(env12.SecurityHeaders("")); got != 1 || env12.Version() != 12 {
		t.Errorf("SOAP 1.2 ultimateReceiver: %d headers, version %d; want 1, 12", got, env12.Version())
	}
}

func TestIndexIDs(t *testing.T) {
	t.Parallel()
	wsu := `xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"`
	for name, tc := range map[string]struct {
		in string
		ok bool
	}{
		"distinct":                            {`<a ` + wsu + `><b wsu:Id="x"/><c Id="y"/><d xml:id="z"/></a>`, true},
		"same element twice":                  {`<a ` + wsu + `><b wsu:Id="x" Id="x"/></a>`, true},
		"wsu vs Id":                           {`<a ` + wsu + `><b wsu:Id="x"/><c Id="x"/></a>`, false},
		"xml:id vs Id":                        {`<a><b xml:id="x"/><c Id="x"/></a>`, false},
		"other namespace Id":                  {`<a xmlns:o="urn:o"><b o:Id="x"/><c Id="x"/></a>`, true},
		"prefix redeclared to wsu":            {`<a xmlns:o="urn:o"><b ` + strings.Replace(wsu, "wsu", "o", 1) + ` o:Id="x"/><c Id="x"/></a>`, false},
		"prefix redeclared away from wsu":     {`<a ` + wsu + `><b xmlns:wsu="urn:o"><c wsu:Id="x"/></b><d Id="x"/></a>`, true},
		"redeclaration ends with its element": {`<a ` + wsu + `><b xmlns:wsu="urn:o"/><c wsu:Id="x"/><d Id="x"/></a>`, false},
	} {
		tr, err := xmlscan.ParseTree([]byte(tc.in), xmlscan.Limits{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		doc := tr.Doc
		if _, err := IndexIDs(doc.Root(), Names{}); (err == nil) != tc.ok {
			t.Errorf("IndexIDs(%s, walk) error = %v, want ok=%v", name, err, tc.ok)
		}
		ids, err := IndexIDs(doc.Root(), NewNames(tr.Names))
		if (err == nil) != tc.ok {
			t.Errorf("IndexIDs(%s) error = %v, want ok=%v", name, err, tc.ok)
			continue
		}
		if tc.ok {
			if el, ok := ids.Resolve("#x"); !ok || el == nil {
				t.Errorf("IndexIDs(%s).Resolve(#x) failed", name)
			}
			if _, ok := ids.Resolve("x"); ok {
				t.Errorf("IndexIDs(%s).Resolve(x) without # resolved", name)
			}
		}
	}
}

// TestIDs_add indexes a subtree whose wsu prefix is declared above it.
func TestIDs_add(t *testing.T) {
	t.Parallel()
	tr, err := xmlscan.ParseTree([]byte(`<a xmlns:wsu="`+NSWSU+`"><b><c wsu:Id="x"/></b></a>`), xmlscan.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := IDs{}
	if err := ids.add(tr.Doc.Root().FindElement("b"), NewNames(tr.Names)); err != nil {
		t.Fatal(err)
	}
	if el, ok := ids.Resolve("#x"); !ok || el.Tag != "c" {
		t.Errorf("add(b).Resolve(#x) = %v, %v; want c", el, ok)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tr, err := xmlscan.ParseTree([]byte(`<s:a xmlns:s="urn:s" xmlns="urn:d"><b s:x="1" xml:lang="en"/></s:a>`), xmlscan.Limits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := tr.Doc.Root().SelectElement("b")
	added := b.CreateElement("s:c") // unknown to the table: walked
	for name, n := range map[string]Names{"table": NewNames(tr.Names), "walk": {}} {
		got := []string{n.Of(b), n.AttrNamespace(b, &b.Attr[0]), n.AttrNamespace(b, &b.Attr[1]), n.Of(added), n.InScope(added)[""]}
		want := []string{"urn:d", "urn:s", NSXML, "urn:s", "urn:d"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: namespaces of b, its attributes, c, c's default (-want +got):\n%s", name, diff)
		}
		if v, ok := n.Attr(b, "urn:s", "x"); !ok || v != "1" || !n.Is(added, "urn:s", "c") {
			t.Errorf("%s: Attr(b, {urn:s}x) = %q, %v; Is(c) = %v", name, v, ok, n.Is(added, "urn:s", "c"))
		}
	}
}

// FuzzNames compares, for every element and attribute of the trees
// ParseTree builds, the answers of the scanner's table with those of the
// walk over the ancestors' declarations.
func FuzzNames(f *testing.F) {
	for _, s := range []string{
		`<p:a xmlns:p="urn:p" xmlns="urn:d"><b p:x="1" xml:id="i"><p:c xmlns:p="urn:2" xmlns="" p:Id="y"/></b></p:a>`,
		`<s:Envelope xmlns:s="` + NSSOAP11 + `"><s:Header><wsse:Security xmlns:wsse="` + NSWSSE + `" s:actor="x"/></s:Header><s:Body/></s:Envelope>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := xmlscan.ParseTree(data, xmlscan.Limits{MaxDepth: 64, MaxElements: 4096, MaxNamespaces: 64}, nil)
		if err != nil {
			return
		}
		table, walk := NewNames(tr.Names), Names{}
		stack := []*etree.Element{tr.Doc.Root()}
		for len(stack) > 0 {
			el := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if g, w := table.Of(el), walk.Of(el); g != w {
				t.Fatalf("%q: Of(%s) = %q, walk %q", data, el.FullTag(), g, w)
			}
			for i := range el.Attr {
				a := &el.Attr[i]
				if g, w := table.AttrNamespace(el, a), walk.AttrNamespace(el, a); g != w {
					t.Fatalf("%q: AttrNamespace(%s, %s) = %q, walk %q", data, el.FullTag(), a.FullKey(), g, w)
				}
			}
			if diff := cmp.Diff(walk.InScope(el), table.InScope(el)); diff != "" {
				t.Fatalf("%q: InScope(%s) (-walk +table):\n%s", data, el.FullTag(), diff)
			}
			stack = append(stack, el.ChildElements()...)
		}
		_, terr := IndexIDs(tr.Doc.Root(), table)
		_, werr := IndexIDs(tr.Doc.Root(), walk)
		if (terr == nil) != (werr == nil) {
			t.Fatalf("%q: IndexIDs = %v, walk %v", data, terr, werr)
		}
	})
}
