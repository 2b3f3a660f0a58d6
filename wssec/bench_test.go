package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// response returns a SOAP 1.1 response whose Body content is about size
// bytes of order records.
func response(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders"><soapenv:Body><tns:Orders>`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<tns:Order id="o-%d"><tns:Customer>Customer %d</tns:Customer><tns:Total currency="EUR">%d.50</tns:Total></tns:Order>`, i, i, i)
	}
	b.WriteString(`</tns:Orders></soapenv:Body></soapenv:Envelope>`)
	return b.Bytes()
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KB", 1 << 10}, {"64KB", 64 << 10}, {"1MB", 1 << 20}}

// BenchmarkDecrypt measures whole-message decryption; BenchmarkFloor
// measures the RSA operation alone with the same key, so the XML overhead
// is the difference of the two in one run.
func BenchmarkDecrypt(b *testing.B) {
	for _, id := range []testpki.Identity{oldID, newID} {
		ring := wssec.NewKeyRing(keyOf(id))
		d := &wssec.Decryptor{Keys: ring}
		for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256GCM} {
			for _, sz := range benchSizes {
				msg := response(sz.n)
				out := encrypt(b, &wssec.Encryptor{Certificate: id.Certificate, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: de}, msg)
				name := fmt.Sprintf("RSA-%d/%s/%s", id.Key.N.BitLen(), strings.ToUpper(string(de)[strings.LastIndex(string(de), "#")+1:]), sz.name)
				b.Run(name, func(b *testing.B) {
					b.SetBytes(int64(len(msg)))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := d.Decrypt(out); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

func BenchmarkFloor(b *testing.B) {
	for _, id := range []testpki.Identity{oldID, newID} {
		ct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, &id.Key.PublicKey, make([]byte, 32), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("RSA-%d/DecryptOAEP", id.Key.N.BitLen()), func(b *testing.B) {
			for b.Loop() {
				if _, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, id.Key, ct, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecrypt_ringSize shows that the key lookup does not depend on
// the number of retained keys.
func BenchmarkDecrypt_ringSize(b *testing.B) {
	msg := encrypt(b, &wssec.Encryptor{Certificate: oldID.Certificate, KeyIdentifier: wssec.IdentifyByThumbprintSHA1}, response(1<<10))
	for _, n := range []int{1, 100} {
		ring := wssec.NewKeyRing(keyOf(newID))
		if err := ring.Retain(keyOf(oldID), t0); err != nil {
			b.Fatal(err)
		}
		for i := 1; i < n; i++ {
			if err := ring.Retain(syntheticKey(b, i), t0); err != nil {
				b.Fatal(err)
			}
		}
		d := &wssec.Decryptor{Keys: ring}
		b.Run(fmt.Sprintf("retained=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := d.Decrypt(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecrypt_parallel runs 1 KB decryptions on every core.
func BenchmarkDecrypt_parallel(b *testing.B) {
	msg := encrypt(b, &wssec.Encryptor{Certificate: oldID.Certificate}, response(1<<10))
	d := &wssec.Decryptor{Keys: twoKeyRing(b)}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Decrypt(msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
