package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// response returns a SOAP 1.1 response whose Body content is about size
// bytes. Shape "records" is tag-dense (order records, a tag every ~17
// bytes); shape "document" is a few elements around one large base64
// field, as a response carrying a file looks.
func response(shape string, size int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders"><soapenv:Body><tns:Response>`)
	switch shape {
	case "document":
		raw := make([]byte, size*3/4)
		for i := range raw {
			raw[i] = byte(i * 7)
		}
		b.WriteString(`<tns:Name>invoice.pdf</tns:Name><tns:Content>`)
		b.WriteString(base64.StdEncoding.EncodeToString(raw))
		b.WriteString(`</tns:Content>`)
	default:
		for i := 0; b.Len() < size; i++ {
			fmt.Fprintf(&b, `<tns:Order id="o-%d"><tns:Customer>Customer %d</tns:Customer><tns:Total currency="EUR">%d.50</tns:Total></tns:Order>`, i, i, i)
		}
	}
	b.WriteString(`</tns:Response></soapenv:Body></soapenv:Envelope>`)
	return b.Bytes()
}

var benchSizes = []struct {
	name string
	n    int
}{{"1KB", 1 << 10}, {"64KB", 64 << 10}, {"1MB", 1 << 20}, {"16MB", 16 << 20}}

type benchCase struct {
	name string
	id   testpki.Identity
	alg  wssec.DataEncryption
	size int
	msg  []byte // the encrypted message
	cv   []byte // the EncryptedData's CipherValue text
	cek  []byte
}

var (
	benchMu    sync.Mutex
	benchCache = map[string]*benchCase{}
)

func algName(de wssec.DataEncryption) string {
	s := string(de)
	return strings.ToUpper(s[strings.LastIndex(s, "#")+1:])
}

// forEachCase calls f for every benchmark case, building each message only
// when its sub-benchmark runs, once for BenchmarkDecrypt and BenchmarkFloor
// alike, so that both measure the same bytes.
func forEachCase(b *testing.B, f func(b *testing.B, c *benchCase)) {
	for _, shape := range []string{"records", "document"} {
		for _, id := range []testpki.Identity{oldID, newID} {
			for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256GCM} {
				for _, sz := range benchSizes {
					name := fmt.Sprintf("%s/RSA-%d/%s/%s", shape, id.Key.N.BitLen(), algName(de), sz.name)
					b.Run(name, func(b *testing.B) {
						f(b, benchCaseFor(b, name, shape, id, de, sz.n))
					})
				}
			}
		}
	}
}

func benchCaseFor(b testing.TB, name, shape string, id testpki.Identity, de wssec.DataEncryption, size int) *benchCase {
	benchMu.Lock()
	defer benchMu.Unlock()
	if c, ok := benchCache[name]; ok {
		return c
	}
	msg := response(shape, size)
	out := encrypt(b, &wssec.Encryptor{Certificate: id.Certificate, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: de}, msg)
	// The encryptor writes the EncryptedKey's CipherValue first and the
	// EncryptedData's second.
	values := bytes.SplitN(out, []byte("<xenc:CipherValue>"), 3)
	ekv, _ := base64.StdEncoding.DecodeString(string(values[1][:bytes.IndexByte(values[1], '<')]))
	cek, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, id.Key, ekv, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := &benchCase{name: name, id: id, alg: de, size: len(msg), msg: out, cek: cek, cv: values[2][:bytes.IndexByte(values[2], '<')]}
	benchCache[name] = c
	return c
}

// BenchmarkDecrypt measures whole-message decryption. Compare each line
// with the BenchmarkFloor line of the same name: the floor is what the
// cryptography alone costs on the same bytes.
func BenchmarkDecrypt(b *testing.B) {
	forEachCase(b, func(b *testing.B, c *benchCase) {
		d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(c.id))}
		b.SetBytes(int64(c.size))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.Decrypt(c.msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFloor measures, for each BenchmarkDecrypt case, one RSA-OAEP
// decryption with the same key plus base64 decoding and decrypting the
// same CipherValue: the work no implementation can skip, done by the
// standard library on one goroutine.
func BenchmarkFloor(b *testing.B) {
	forEachCase(b, func(b *testing.B, c *benchCase) {
		floor := c.floor(b)
		b.SetBytes(int64(c.size))
		b.ReportAllocs()
		for b.Loop() {
			floor()
		}
	})
}

// floor returns the work BenchmarkFloor measures for c: one RSA-OAEP
// decryption of its content key, then base64 decoding and decrypting its
// CipherValue into a buffer made once.
func (c *benchCase) floor(b *testing.B) func() {
	ct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, &c.id.Key.PublicKey, c.cek, nil)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(c.cv)))
	return func() {
		if _, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, c.id.Key, ct, nil); err != nil {
			b.Fatal(err)
		}
		n, err := base64.StdEncoding.Decode(buf, c.cv)
		if err != nil {
			b.Fatal(err)
		}
		if err := floorDecrypt(c.alg, c.cek, buf[:n]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt_ofFloor measures large messages against their floor in
// pairs: each iteration times one Decrypt and one BenchmarkFloor
// iteration of the same message, in alternating order, and the benchmark
// reports the median of floor time ÷ Decrypt time (of-floor: the share of
// the floor's throughput that Decrypt reaches), so that a change in the
// machine's speed during the run falls on both.
func BenchmarkDecrypt_ofFloor(b *testing.B) {
	for _, shape := range []string{"records", "document"} {
		for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256GCM} {
			name := fmt.Sprintf("%s/RSA-2048/%s/16MB", shape, algName(de))
			b.Run(name, func(b *testing.B) {
				c := benchCaseFor(b, name, shape, oldID, de, 16<<20)
				floor := c.floor(b)
				d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(c.id))}
				whole := func() {
					if _, err := d.Decrypt(c.msg); err != nil {
						b.Fatal(err)
					}
				}
				ws, fs := pairedRun(b, whole, floor)
				ratios := make([]float64, len(ws))
				for i := range ws {
					ratios[i] = float64(fs[i]) / float64(ws[i])
				}
				b.ReportMetric(median(ratios), "of-floor")
			})
		}
	}
}

// BenchmarkDecrypt_overhead measures the XML work on a 1 KB message
// directly: each iteration times one whole Decrypt and one RSA-OAEP
// decryption of the same key, in alternating order, and the benchmark
// reports the median of the per-iteration differences (xml-µs) and of the
// ratios (×rsa). Pairing keeps a change in the machine's speed during the
// run out of the figures.
//
// Both are warmed up first (overheadWarmup pairs, not timed), as the peers
// are measured in a warm loop: without it the first case of a run reads
// higher than the same case run later, by 10 µs and more, while the
// process's heap is still growing to its working size.
func BenchmarkDecrypt_overhead(b *testing.B) {
	for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256GCM} {
		for _, id := range []testpki.Identity{oldID, newID} {
			name := fmt.Sprintf("records/RSA-%d/%s/1KB", id.Key.N.BitLen(), algName(de))
			b.Run(name, func(b *testing.B) {
				c := benchCaseFor(b, name, "records", id, de, 1<<10)
				ct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, &c.id.Key.PublicKey, c.cek, nil)
				if err != nil {
					b.Fatal(err)
				}
				d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(c.id))}
				whole := func() {
					if _, err := d.Decrypt(c.msg); err != nil {
						b.Fatal(err)
					}
				}
				alone := func() {
					if _, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, c.id.Key, ct, nil); err != nil {
						b.Fatal(err)
					}
				}
				for range overheadWarmup {
					whole()
					alone()
				}
				ws, rs := pairedRun(b, whole, alone)
				diffs, ratios := make([]float64, len(ws)), make([]float64, len(ws))
				for i := range ws {
					diffs[i] = float64(ws[i]-rs[i]) / 1e3
					ratios[i] = float64(ws[i]) / float64(rs[i])
				}
				b.ReportMetric(median(diffs), "xml-µs")
				b.ReportMetric(median(ratios), "×rsa")
			})
		}
	}
}

// overheadWarmup is the number of untimed pairs before
// BenchmarkDecrypt_overhead times any.
const overheadWarmup = 300

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkDecrypt_ringSize shows that the key lookup does not depend on
// the number of retained keys.
func BenchmarkDecrypt_ringSize(b *testing.B) {
	msg := encrypt(b, &wssec.Encryptor{Certificate: oldID.Certificate, KeyIdentifier: wssec.IdentifyByThumbprintSHA1}, response("records", 1<<10))
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

// BenchmarkDecrypt_parallel runs 1 KB decryptions on every core; run it
// with -cpu 1,2 to see the scaling.
func BenchmarkDecrypt_parallel(b *testing.B) {
	msg := encrypt(b, &wssec.Encryptor{Certificate: oldID.Certificate}, response("records", 1<<10))
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

// floorDecrypt decrypts a CipherValue (IV ‖ ciphertext ‖ tag) in place
// with the standard library alone, on the calling goroutine.
func floorDecrypt(alg wssec.DataEncryption, key, cv []byte) error {
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	if alg == wssec.AES256GCM || alg == wssec.AES128GCM {
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return err
		}
		iv, body := cv[:aead.NonceSize()], cv[aead.NonceSize():]
		_, err = aead.Open(body[:0], iv, body, nil)
		return err
	}
	iv, body := cv[:aes.BlockSize], cv[aes.BlockSize:]
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(body, body)
	return nil
}
