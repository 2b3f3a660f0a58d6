package wssec

import (
	"bytes"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"
)

// TestWriteTokens checks that the envelope is written byte for byte as
// etree's Document.WriteToBytes writes it, with every setting the
// writer reads.
func TestWriteTokens(t *testing.T) {
	t.Parallel()
	docs := []struct{ name, in string }{
		{"prefixes", `<p:a xmlns:p="urn:p" p:x="1" y="2"><p:b/><c p:z="&lt;3&gt;">t&amp;u</c></p:a>`},
		{"no prefixes", `<a><b></b><c>text</c></a>`},
		{"declaration and comment", "<?xml version=\"1.0\"?>\n<!-- c --><a><!-- d --><b x=\"&#x9;&#xA;&#xD;\"/></a>"},
		{"CR and CDATA", "<a>x&#xD;y<![CDATA[<z>]]></a>"},
		{"quotes", `<a x="'&quot;'" y='"'>'"</a>`},
	}
	settings := []struct {
		name string
		s    etree.WriteSettings
	}{
		{"fidelity", fidelity},
		{"default", etree.WriteSettings{}},
		{"canonical end tags", etree.WriteSettings{CanonicalEndTags: true, CanonicalText: true, CanonicalAttrVal: true}},
		{"single quotes", etree.WriteSettings{AttrSingleQuote: true}},
	}
	for _, d := range docs {
		for _, st := range settings {
			t.Run(d.name+"/"+st.name, func(t *testing.T) {
				t.Parallel()
				doc := etree.NewDocument()
				if err := doc.ReadFromString(d.in); err != nil {
					t.Fatal(err)
				}
				doc.WriteSettings = st.s
				want, err := doc.WriteToBytes()
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				writeTokens(&got, doc.Child, &doc.WriteSettings)
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("writeTokens(%s) mismatch (-want +got):\n%s", d.in, diff)
				}
			})
		}
	}
}
