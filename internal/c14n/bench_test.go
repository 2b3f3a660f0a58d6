package c14n

import (
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// body returns a SOAP Body of about n elements, statement entries like
// those of the large signed vector, in a document that declares its
// namespaces on the Envelope and again on the Body, so that goxmldsig's
// canonicalizer can take the Body as it stands.
func body(b *testing.B, n int) *etree.Element {
	b.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(bodyDoc(n)); err != nil {
		b.Fatal(err)
	}
	return doc.Root().SelectElement("Body")
}

// bodyDoc is the document body takes its Body from.
func bodyDoc(n int) string {
	var s strings.Builder
	s.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:partner:statements:v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soapenv:Body xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:partner:statements:v2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:wsu="urn:wsu" wsu:Id="id-1"><tns:Entries>`)
	for k := 0; 4*k+2 < n; k++ {
		fmt.Fprintf(&s, `<tns:Entry xsi:type="tns:DebitEntry"><tns:Date xsi:type="xsd:date">2024-03-%02d</tns:Date><tns:Amount xsi:type="xsd:decimal">-%d.%02d</tns:Amount><tns:Text>Posten %d &amp; Co</tns:Text></tns:Entry>`, 1+k%28, k%1000, k%100, k)
	}
	s.WriteString(`</tns:Entries></soapenv:Body></soapenv:Envelope>`)
	return s.String()
}

// BenchmarkCanonicalize hashes the exclusive canonical form of a Body of
// 900 elements (the most goxmldsig's detach helper takes) and of 100,000,
// with this package and with goxmldsig the way wssec used it (detach,
// then canonicalize) and, for the large Body, goxmldsig's canonicalizer
// alone. MB/s counts canonical bytes.
func BenchmarkCanonicalize(b *testing.B) {
	for _, n := range []int{900, 100_000} {
		el := body(b, n)
		var size int64
		{
			h := sha256.New()
			var err error
			if size, err = Canonicalize(h, el, Options{Method: Method{Exclusive: true}}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("elements=%d/c14n", n), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				h := sha256.New()
				if _, err := Canonicalize(h, el, Options{Method: Method{Exclusive: true}}); err != nil {
					b.Fatal(err)
				}
				h.Sum(nil)
			}
		})
		b.Run(fmt.Sprintf("elements=%d/c14n-bytes", n), func(b *testing.B) {
			doc := []byte(bodyDoc(n))
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				h := sha256.New()
				if _, _, err := CanonicalizeBytes(h, doc, 1, "soapenv:Body", Options{Method: Method{Exclusive: true}}, 0); err != nil {
					b.Fatal(err)
				}
				h.Sum(nil)
			}
		})
		b.Run(fmt.Sprintf("elements=%d/paired", n), func(b *testing.B) {
			// The tree and the bytes, alternately: the ratio of the
			// medians is what reading bytes saves on a loaded machine.
			doc := []byte(bodyDoc(n))
			opt := Options{Method: Method{Exclusive: true}}
			var tree, raw []float64
			for i := 0; b.Loop(); i++ {
				for k := range 2 {
					t0 := time.Now()
					if (i+k)%2 == 0 {
						if _, err := Canonicalize(io.Discard, el, opt); err != nil {
							b.Fatal(err)
						}
						tree = append(tree, float64(time.Since(t0)))
					} else {
						if _, _, err := CanonicalizeBytes(io.Discard, doc, 1, "soapenv:Body", opt, 0); err != nil {
							b.Fatal(err)
						}
						raw = append(raw, float64(time.Since(t0)))
					}
				}
			}
			slices.Sort(tree)
			slices.Sort(raw)
			b.ReportMetric(float64(size)/tree[len(tree)/2]*1e3, "tree-MB/s")
			b.ReportMetric(float64(size)/raw[len(raw)/2]*1e3, "bytes-MB/s")
			b.ReportMetric(tree[len(tree)/2]/raw[len(raw)/2], "×faster")
		})
		if n <= 1000 {
			b.Run(fmt.Sprintf("elements=%d/goxmldsig-detached", n), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					out, err := reference(el, Options{Method: Method{Exclusive: true}})
					if err != nil {
						b.Fatal(err)
					}
					h := sha256.New()
					h.Write(out)
					h.Sum(nil)
				}
			})
		}
		b.Run(fmt.Sprintf("elements=%d/goxmldsig-canonicalizer", n), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			c := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
			for b.Loop() {
				out, err := c.Canonicalize(el)
				if err != nil {
					b.Fatal(err)
				}
				h := sha256.New()
				h.Write(out)
				h.Sum(nil)
			}
		})
	}
}

// recordsDoc is a SOAP envelope whose Body holds about size bytes of
// small records, each three elements and two attributes: the tag-dense
// shape of the signed benchmarks.
func recordsDoc(size int) []byte {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders"><soapenv:Body><tns:Response>`)
	for i := 0; s.Len() < size; i++ {
		fmt.Fprintf(&s, `<tns:Order id="o-%d"><tns:Customer>Customer %d</tns:Customer><tns:Total currency="EUR">%d.50</tns:Total></tns:Order>`, i, i, i)
	}
	s.WriteString(`</tns:Response></soapenv:Body></soapenv:Envelope>`)
	return []byte(s.String())
}

// BenchmarkCanonicalizeBytes writes the exclusive canonical form of a
// 16 MB tag-dense Body from the document's bytes, without hashing it:
// the canonicalizer's own cost. MB/s counts the document's bytes.
func BenchmarkCanonicalizeBytes(b *testing.B) {
	doc := recordsDoc(16 << 20)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := CanonicalizeBytes(io.Discard, doc, 1, "soapenv:Body", Options{Method: Method{Exclusive: true}}, 0); err != nil {
			b.Fatal(err)
		}
	}
}
