package wsrenew_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// BenchmarkDecrypt_hostileAttributes passes 4 MiB plaintext messages
// (AllowPlaintextBody) through Decrypt, which reads and checks them in
// full: an ordinary Body of tag-dense entries, and the hostile shapes of
// elements with 60 prefixed attributes of one local name, and with 60
// prefix:Id attributes under 90 ancestors of 60 attributes each. Each
// must cost a small multiple of the ordinary message.
func BenchmarkDecrypt_hostileAttributes(b *testing.B) {
	const size = 4 << 20
	plain, err := os.ReadFile(filepath.Join(interopDir, "plaintext", "soap11_response.xml"))
	if err != nil {
		b.Fatal(err)
	}
	newK := testpki.Load(testpki.New)
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: newK.Key, Certificate: newK.Certificate}),
		Policy: wssec.Policy{AllowPlaintextBody: true}}
	decls := func(n int) string {
		var s strings.Builder
		for i := range n {
			fmt.Fprintf(&s, ` xmlns:p%d="urn:example:p%d"`, i, i)
		}
		return s.String()
	}
	repeat := func(open, unit, close string) string {
		var s strings.Builder
		s.WriteString(open)
		for s.Len() < size {
			s.WriteString(unit)
		}
		s.WriteString(close)
		return s.String()
	}
	var attrs, ids, ancestors strings.Builder
	for i := range 60 {
		fmt.Fprintf(&attrs, ` p%d:x="1"`, i)
		fmt.Fprintf(&ids, ` p%d:Id="v%d"`, i, i)
		fmt.Fprintf(&ancestors, ` a%d="1"`, i)
	}
	for _, bc := range []struct{ name, body string }{
		{"ordinary", repeat(`<tns:Entries>`, `<tns:Entry kind="debit"><tns:Date>2024-03-01</tns:Date><tns:Amount>-12.40</tns:Amount></tns:Entry>`, `</tns:Entries>`)},
		{"prefixed-attributes", repeat(`<tns:Entries`+decls(60)+`>`, `<tns:e`+attrs.String()+`/>`, `</tns:Entries>`)},
		{"prefixed-ids", repeat(`<tns:Entries`+decls(60)+`>`+strings.Repeat(`<tns:a`+ancestors.String()+`>`, 90),
			`<tns:e`+ids.String()+`/>`, strings.Repeat(`</tns:a>`, 90)+`</tns:Entries>`)},
	} {
		msg := bytes.Replace(plain, []byte("<soapenv:Body>"), []byte("<soapenv:Body>"+bc.body+"<!--"), 1)
		msg = bytes.Replace(msg, []byte("</soapenv:Body>"), []byte("--></soapenv:Body>"), 1)
		if _, err := d.Decrypt(msg); err != nil {
			b.Fatalf("Decrypt(%s) error = %v", bc.name, err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decrypt(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
