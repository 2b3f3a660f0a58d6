package soap

import (
	"os"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// BenchmarkNames resolves the name of every element and attribute, from
// the scanner's table and by walking the ancestors' declarations, in the
// signed and encrypted test response and in a document 60 elements deep
// with eight attributes on each, declared at the root.
func BenchmarkNames(b *testing.B) {
	response, err := os.ReadFile("../../wssec/testdata/signed-encrypted.xml")
	if err != nil {
		b.Fatal(err)
	}
	var deep strings.Builder
	deep.WriteString(`<p:r xmlns:p="urn:p" xmlns:q="urn:q">`)
	for range 60 {
		deep.WriteString(`<p:e a="1" b="2" c="3" d="4" e="5" f="6" g="7" q:h="8">`)
	}
	deep.WriteString(strings.Repeat(`</p:e>`, 60) + `</p:r>`)
	for _, doc := range []struct {
		name string
		data []byte
	}{{"response", response}, {"deep", []byte(deep.String())}} {
		benchmarkNames(b, doc.name, doc.data)
	}
}

func benchmarkNames(b *testing.B, doc string, data []byte) {
	tr, err := xmlscan.ParseTree(data, xmlscan.Limits{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var els []*etree.Element
	stack := []*etree.Element{tr.Doc.Root()}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		els = append(els, el)
		stack = append(stack, el.ChildElements()...)
	}
	for name, n := range map[string]Names{"table": NewNames(tr.Names), "walk": {}} {
		b.Run(doc+"/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, el := range els {
					if n.Is(el, NSDS, el.Tag) && el.Tag == "" {
						b.Fatal("empty tag")
					}
					for i := range el.Attr {
						_ = n.AttrNamespace(el, &el.Attr[i])
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(els)), "ns/element")
		})
	}
}
