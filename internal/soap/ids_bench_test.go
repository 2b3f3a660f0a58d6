package soap

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// BenchmarkIndexIDs indexes 4 MiB documents: the ordinary one, and the
// hostile shape of elements with 60 prefix:Id attributes (none bound to
// wsu) under 90 ancestors that carry 60 attributes each, so that
// resolving each prefix by searching the ancestors would cost thousands
// of comparisons.
func BenchmarkIndexIDs(b *testing.B) {
	lim := xmlscan.Limits{MaxDepth: 100, MaxElements: 1e6, MaxAttributes: 64, MaxNamespaces: 100, MaxAttrValue: 4096, MaxNameBytes: 1024}
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"ordinary", ordinaryDocument(4 << 20)},
		{"prefixed-ids", prefixedIDsDocument(4 << 20)},
	} {
		tr, err := xmlscan.ParseTree(bc.data, lim, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := IndexIDs(tr.Doc.Root(), NewNames(tr.Names)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func prefixedIDsDocument(size int) []byte {
	const n, depth = 60, 90
	var buf bytes.Buffer
	buf.WriteString(`<r`)
	for i := range n {
		fmt.Fprintf(&buf, ` xmlns:p%d="urn:p%d"`, i, i)
	}
	buf.WriteString(`>`)
	for range depth {
		buf.WriteString(`<a`)
		for i := range n {
			fmt.Fprintf(&buf, ` a%d="1"`, i)
		}
		buf.WriteString(`>`)
	}
	for buf.Len() < size {
		buf.WriteString(`<e`)
		for i := range n {
			fmt.Fprintf(&buf, ` p%d:Id="v%d"`, i, i)
		}
		buf.WriteString(`/>`)
	}
	buf.WriteString(strings.Repeat(`</a>`, depth) + `</r>`)
	return buf.Bytes()
}

func ordinaryDocument(size int) []byte {
	var buf bytes.Buffer
	buf.WriteString(`<tns:Orders xmlns:tns="urn:tns">`)
	for i := 0; buf.Len() < size; i++ {
		fmt.Fprintf(&buf, `<tns:Order id="o-%d"><tns:Customer>Customer %d</tns:Customer><tns:Total currency="EUR">%d.50</tns:Total></tns:Order>`, i, i, i)
	}
	buf.WriteString("</tns:Orders>")
	return buf.Bytes()
}
