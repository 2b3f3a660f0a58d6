package xmlscan

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

const nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

var scanCtx = map[string]string{"tns": "urn:tns", "soapenv": nsSOAP11, "wsu": NSWSU}

func forbiddenForTest(ns string, local []byte) bool {
	return ns == nsSOAP11 && string(local) == "Body"
}

func TestScanFragment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		want     FragmentInfo
		wantErr  error
		limit    string
		wantIDs  string
		wantFail bool
	}{
		{name: "empty", in: "", want: FragmentInfo{}},
		{name: "text", in: " a &amp; b &#x20AC; &#8364; ", want: FragmentInfo{TopText: true}},
		{name: "white space", in: " \n\t ", want: FragmentInfo{}},
		{name: "elements", in: `<tns:a x="1" y='2'><b/><c>t</c></tns:a><tns:d/>`, want: FragmentInfo{Elements: 4, TopElements: 2}},
		{name: "declarations", in: `<p:a xmlns:p="urn:p" xmlns="urn:d"><b p:x="1"/></p:a>`, want: FragmentInfo{Elements: 2, TopElements: 1}},
		{name: "comment and cdata", in: `<a><!-- < & --><![CDATA[ <x> & ]]></a>`, want: FragmentInfo{Elements: 1, TopElements: 1}},
		{name: "top cdata", in: `<![CDATA[x]]>`, want: FragmentInfo{TopText: true}},
		{name: "non-ascii", in: `<tns:Kunde name="Jürgen">Müller — 東京</tns:Kunde>`, want: FragmentInfo{Elements: 1, TopElements: 1}},
		{name: "ids", in: `<a Id="i1"><b wsu:Id="i2" xml:id="i3" tns:Id="no"/></a>`, want: FragmentInfo{Elements: 2, TopElements: 1}, wantIDs: "i1,i2,i3,"},
		{name: "unbound", in: `<x:a/>`, wantFail: true},
		{name: "unbound attribute", in: `<a x:b="1"/>`, wantFail: true},
		{name: "unclosed", in: `<a>`, wantFail: true},
		{name: "stray end", in: `</tns:x>`, wantFail: true},
		{name: "crossed", in: `<a><b></a></b>`, wantFail: true},
		{name: "pi", in: `<?xml version="1.0"?><a/>`, wantFail: true},
		{name: "doctype", in: `<!DOCTYPE a><a/>`, wantFail: true},
		{name: "bad reference", in: `a & b`, wantFail: true},
		{name: "unknown entity", in: `&nbsp;`, wantFail: true},
		{name: "bad char ref", in: `&#0;`, wantFail: true},
		{name: "cdata end in text", in: `a ]]> b`, wantFail: true},
		{name: "control char", in: "a\x01b", wantFail: true},
		{name: "invalid utf-8", in: "a\xffb", wantFail: true},
		{name: "lt in attribute", in: `<a x="<"/>`, wantFail: true},
		{name: "unquoted attribute", in: `<a x=1/>`, wantFail: true},
		{name: "no space between attributes", in: `<a x="1"y="2"/>`, wantFail: true},
		{name: "duplicate attribute", in: `<a x="1" x="2"/>`, wantFail: true},
		{name: "duplicate expanded attribute", in: `<a xmlns:p="urn:tns" tns:x="1" p:x="2"/>`, wantFail: true},
		{name: "empty prefix declaration", in: `<a xmlns:p=""/>`, wantFail: true},
		{name: "bad name", in: `<1a/>`, wantFail: true},
		{name: "two colons", in: `<a:b:c/>`, wantFail: true},
		{name: "unterminated comment", in: `<!-- x`, wantFail: true},
		{name: "forbidden", in: `<soapenv:Body/>`, wantFail: true},
		{name: "forbidden by default namespace", in: `<Body xmlns="http://schemas.xmlsoap.org/soap/envelope/"/>`, wantFail: true},
		{name: "same name other namespace", in: `<tns:Body/>`, want: FragmentInfo{Elements: 1, TopElements: 1}},
		{name: "depth", in: `<a><a><a/></a></a>`, limit: "MaxDepth"},
		{name: "elements", in: `<a/><a/><a/><a/><a/>`, limit: "MaxElements"},
		{name: "attributes", in: `<a b="" c="" d="" e=""/>`, limit: "MaxAttributes"},
		{name: "attribute value", in: `<a b="0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefX"/>`, limit: "MaxAttrValue"},
		{name: "namespaces", in: `<a xmlns:a="urn:a" xmlns:b="urn:b"><b xmlns:c="urn:c" xmlns:d="urn:d"/></a>`, limit: "MaxNamespaces"},
		{name: "namespaces on siblings do not add up", in: `<a xmlns:a="urn:a" xmlns:b="urn:b"/><a xmlns:a="urn:a" xmlns:b="urn:b"/>`, want: FragmentInfo{Elements: 2, TopElements: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ids strings.Builder
			fc := FragmentCheck{
				Context:   scanCtx,
				Limits:    Limits{MaxDepth: 4, DepthOffset: 2, MaxElements: 5, ElementsOffset: 1, MaxAttributes: 3, MaxAttrValue: 64, MaxNamespaces: 6},
				Forbidden: forbiddenForTest,
				ID:        func(id string) error { ids.WriteString(id + ","); return nil },
			}
			got, err := ScanFragment([]byte(tc.in), fc)
			var le *LimitError
			switch {
			case tc.limit != "":
				if !errors.As(err, &le) || le.Limit != tc.limit {
					t.Fatalf("ScanFragment(%s) error = %v, want limit %s", tc.name, err, tc.limit)
				}
				return
			case tc.wantFail:
				if !errors.Is(err, ErrSyntax) {
					t.Fatalf("ScanFragment(%s) error = %v, want %v", tc.name, err, ErrSyntax)
				}
				return
			case err != nil:
				t.Fatalf("ScanFragment(%s) error = %v", tc.name, err)
			}
			if got != tc.want {
				t.Errorf("ScanFragment(%s) = %+v, want %+v", tc.name, got, tc.want)
			}
			if ids.String() != tc.wantIDs {
				t.Errorf("ScanFragment(%s) ids = %q, want %q", tc.name, ids.String(), tc.wantIDs)
			}
		})
	}
}

// referenceCount parses data as content of an element that declares the
// scan context, with encoding/xml, and counts its elements.
func referenceCount(data []byte) (int, error) {
	var b bytes.Buffer
	b.WriteString(`<root`)
	for p, u := range scanCtx {
		b.WriteString(` xmlns:` + p + `="` + u + `"`)
	}
	b.WriteString(`>`)
	b.Write(data)
	b.WriteString(`</root>`)
	dec := xml.NewDecoder(&b)
	dec.Strict = true
	n := -1
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		switch tok.(type) {
		case xml.StartElement:
			n++
		case xml.ProcInst, xml.Directive:
			return 0, errors.New("not content")
		}
	}
}

// FuzzScanFragment checks ScanFragment against encoding/xml: whatever the
// scanner accepts, the standard parser accepts too, with as many elements.
func FuzzScanFragment(f *testing.F) {
	for _, s := range []string{
		``, `text`, `<a/>`, `<tns:a x="1"><b>t&amp;</b></tns:a>`, `<p:a xmlns:p="urn:p"/>`,
		`<a><!--c--><![CDATA[x]]></a>`, `<a b='1' c="2"/>`, `&#x41;&lt;`, "\u00e9<\u00e9/>",
	} {
		f.Add([]byte(s))
	}
	var sc Scratch // reused from one input to the next
	f.Fuzz(func(t *testing.T, data []byte) {
		// Remembering start tags from the first one on must not change
		// any result.
		var ids, plainIDs []string
		fc := FragmentCheck{
			Context: scanCtx, Limits: Limits{MaxDepth: 100, MaxAttributes: 64, MaxNamespaces: 100},
			Forbidden: forbiddenForTest, ID: func(id string) error { ids = append(ids, id); return nil }, memoAt: 1,
		}
		info, err := ScanFragment(data, fc)
		plain := fc
		plain.memoAt, plain.ID = -1, func(id string) error { plainIDs = append(plainIDs, id); return nil }
		pinfo, perr := ScanFragment(data, plain)
		if info != pinfo || (err == nil) != (perr == nil) || strings.Join(ids, ",") != strings.Join(plainIDs, ",") {
			t.Fatalf("ScanFragment(%q) = %+v, %v, ids %q; without remembered tags %+v, %v, ids %q", data, info, err, ids, pinfo, perr, plainIDs)
		}
		// With a Scratch reused from input to input, and its own
		// point from which tags are remembered.
		var scratchIDs []string
		borrowed := fc
		borrowed.memoAt, borrowed.Scratch = 0, &sc
		borrowed.ID = func(id string) error { scratchIDs = append(scratchIDs, id); return nil }
		sinfo, serr := ScanFragment(data, borrowed)
		if info != sinfo || (err == nil) != (serr == nil) || strings.Join(ids, ",") != strings.Join(scratchIDs, ",") {
			t.Fatalf("ScanFragment(%q) = %+v, %v, ids %q; with a Scratch %+v, %v, ids %q", data, info, err, ids, sinfo, serr, scratchIDs)
		}
		if err != nil {
			return
		}
		n, rerr := referenceCount(data)
		if rerr != nil {
			t.Fatalf("ScanFragment accepted %q, encoding/xml: %v", data, rerr)
		}
		if n != info.Elements {
			t.Fatalf("ScanFragment(%q) counted %d elements, encoding/xml %d", data, info.Elements, n)
		}
	})
}

// TestScanFragment_memo checks that a remembered start tag is accepted
// again only where a full read would accept it.
func TestScanFragment_memo(t *testing.T) {
	t.Parallel()
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	for _, tc := range []struct {
		name string
		in   string
		lim  Limits
		ok   bool
	}{
		{"repeated", rep(`<tns:Order x="1"><tns:Total>1</tns:Total></tns:Order>`, 4), Limits{}, true},
		{"rebound to the envelope", `<a xmlns:p="urn:x"><p:Body x="1"/></a><a xmlns:p="` + nsSOAP11 + `"><p:Body x="1"/></a>`, Limits{}, false},
		{"out of scope", `<a xmlns:p="urn:x"><p:element/></a><p:element/>`, Limits{}, false},
		{"default namespace", `<a xmlns="urn:x"><Body x="1"/></a><a xmlns="` + nsSOAP11 + `"><Body x="1"/></a>`, Limits{}, false},
		{"depth", `<tns:a12345678>` + rep(`<tns:b12345678>`, 3) + rep(`</tns:b12345678>`, 3) + `</tns:a12345678>`, Limits{MaxDepth: 3}, false},
		{"elements", rep(`<tns:b12345678/>`, 5), Limits{MaxElements: 4}, false},
		{"elements within", rep(`<tns:b12345678/>`, 4), Limits{MaxElements: 4}, true},
		{"ids", rep(`<tns:b12345678 wsu:Id="same"/>`, 2), Limits{}, true},
		{"repeated ids", rep(`<tns:b1234567 Id="a"/><tns:b1234567 id="b"/>`, 4), Limits{}, true},
		{"values", rep(`<tns:b1234567 x="1" y='2'/>`, 2) + `<tns:b1234567 x="a>b" y='c"d'/>`, Limits{}, true},
		{"value with <", rep(`<tns:b1234567 x="1"/>`, 3) + `<tns:b1234567 x="<"/>`, Limits{}, false},
		{"value with a bad reference", rep(`<tns:b1234567 x="1"/>`, 3) + `<tns:b1234567 x="&bad;"/>`, Limits{}, false},
		{"value too long", rep(`<tns:b1234567 x="1"/>`, 3) + `<tns:b1234567 x="12345"/>`, Limits{MaxAttrValue: 4}, false},
		{"unterminated value", rep(`<tns:b1234567 x="1"/>`, 3) + `<tns:b1234567 x="12345`, Limits{}, false},
		{"other attribute", rep(`<tns:b1234567 x="1"/>`, 3) + `<tns:b1234567 xy="1"/>`, Limits{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, memoAt := range []int{1, -1} {
				var ids []string
				_, err := ScanFragment([]byte(tc.in), FragmentCheck{
					Context: scanCtx, Limits: tc.lim, Forbidden: forbiddenForTest, memoAt: memoAt,
					ID: func(id string) error { ids = append(ids, id); return nil },
				})
				if (err == nil) != tc.ok {
					t.Fatalf("memoAt %d: ScanFragment error = %v, want ok %v", memoAt, err, tc.ok)
				}
				if tc.name == "ids" && len(ids) != 2 || tc.name == "repeated ids" && len(ids) != 4 {
					t.Fatalf("memoAt %d: ids = %q, want both", memoAt, ids)
				}
			}
		})
	}
}
