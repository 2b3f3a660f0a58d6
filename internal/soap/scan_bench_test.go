package soap

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
