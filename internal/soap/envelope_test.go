package soap

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

const s11 = `xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"`
const wsse = `xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"`

func envelope(t *testing.T, in string) (*Envelope, error) {
	t.Helper()
	doc, _, err := xmlscan.Parse([]byte(in), xmlscan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return NewEnvelope(doc)
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
		doc, _, err := xmlscan.Parse([]byte(tc.in), xmlscan.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ids, err := IndexIDs(doc.Root())
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
	doc, _, err := xmlscan.Parse([]byte(`<a xmlns:wsu="`+NSWSU+`"><b><c wsu:Id="x"/></b></a>`), xmlscan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ids := IDs{}
	if err := ids.add(doc.Root().FindElement("b")); err != nil {
		t.Fatal(err)
	}
	if el, ok := ids.Resolve("#x"); !ok || el.Tag != "c" {
		t.Errorf("add(b).Resolve(#x) = %v, %v; want c", el, ok)
	}
}

func TestNamespaceOf(t *testing.T) {
	t.Parallel()
	doc, _, err := xmlscan.Parse([]byte(`<s:a xmlns:s="urn:s" xmlns="urn:d"><b s:x="1"/></s:a>`), xmlscan.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := doc.Root().SelectElement("b")
	if NamespaceOf(b) != "urn:d" || AttrNamespace(b, &b.Attr[0]) != "urn:s" {
		t.Fatalf("namespaces of b = %q, attribute %q", NamespaceOf(b), AttrNamespace(b, &b.Attr[0]))
	}
}
