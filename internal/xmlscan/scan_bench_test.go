package xmlscan

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkScanFragment checks 1 MB of tag-dense content (a tag every ~17
// bytes), the worst case for the scanner, in one pass and as ScanFragment
// does it (in two halves at once when more than one processor is
// available).
func BenchmarkScanFragment(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("<tns:Orders>")
	for i := 0; buf.Len() < 1<<20; i++ {
		fmt.Fprintf(&buf, `<tns:Order id="o-%d"><tns:Customer>Customer %d</tns:Customer><tns:Total currency="EUR">%d.50</tns:Total></tns:Order>`, i, i, i)
	}
	buf.WriteString("</tns:Orders>")
	data := buf.Bytes()
	fc := FragmentCheck{
		Context:   map[string]string{"tns": "urn:tns"},
		Limits:    Limits{MaxDepth: 100, MaxElements: 1e6, MaxAttributes: 64, MaxNamespaces: 100, MaxAttrValue: 4096, MaxNameBytes: 1024},
		Forbidden: func(string, []byte) bool { return false },
		ID:        func(string) error { return nil },
	}
	for _, bc := range []struct {
		name string
		scan func([]byte, *FragmentCheck) (FragmentInfo, error)
	}{
		{"whole", scanWhole},
		// Two halves on two goroutines when GOMAXPROCS allows.
		{"ScanFragment", func(d []byte, fc *FragmentCheck) (FragmentInfo, error) { return ScanFragment(d, *fc) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.scan(data, &fc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse_attributes parses 4 MiB documents: an ordinary one
// (tag-dense, a few attributes per element) and the hostile shape of
// elements with 60 prefixed attributes of the same local name, each
// prefix bound to its own URI far up the tree. The duplicate-attribute
// check must keep the second within a small factor of the first.
func BenchmarkParse_attributes(b *testing.B) {
	lim := Limits{MaxDepth: 100, MaxElements: 1e6, MaxAttributes: 64, MaxNamespaces: 100, MaxAttrValue: 4096, MaxNameBytes: 1024}
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"ordinary", ordinaryDocument(4 << 20)},
		{"prefixed-attributes", prefixedAttributesDocument(4 << 20)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Parse(bc.data, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
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

func prefixedAttributesDocument(size int) []byte {
	const n = 60
	var buf bytes.Buffer
	buf.WriteString(`<r`)
	for i := range n {
		fmt.Fprintf(&buf, ` xmlns:p%d="urn:p%d"`, i, i)
	}
	buf.WriteString(`><s xmlns:q="urn:q">`)
	for buf.Len() < size {
		buf.WriteString(`<e`)
		for i := range n {
			fmt.Fprintf(&buf, ` p%d:x="1"`, i)
		}
		buf.WriteString(`/>`)
	}
	buf.WriteString(`</s></r>`)
	return buf.Bytes()
}
