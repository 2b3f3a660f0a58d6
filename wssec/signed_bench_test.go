package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// signedCase is a signed response for the signed-path benchmarks, with
// what its floor needs.
type signedCase struct {
	msg  []byte // the message as received
	size int    // the plaintext envelope's size
	d    *wssec.Decryptor
	// floor does the work no implementation can skip: one RSA-OAEP
	// decryption (if encrypted) and one RSA PKCS#1 v1.5 verification
	// with the same keys, base64 decoding and AES-256-GCM decryption of
	// the EncryptedData's CipherValue (if encrypted), and SHA-256 over
	// the message's bytes, by the standard library on one goroutine.
	floor func()
}

// The orders of signing and encryption the signed benchmarks measure.
var signedOrders = []string{"signed", "sign-then-encrypt", "encrypt-then-sign"}

// signedCases caches the signed messages by name: making a 16 MB one
// takes seconds.
var signedCases = map[string]*signedCase{}

// signedCaseFor builds (once) a response of the given shape and size,
// signed by the test signer (Body and Timestamp, rsa-sha256, exclusive
// C14N, SHA-256 digests) and encrypted with AES-256-GCM for the key old,
// in the given order.
func signedCaseFor(b *testing.B, order, shape string, size int) *signedCase {
	b.Helper()
	name := fmt.Sprintf("%s/%s/%d", order, shape, size)
	benchMu.Lock()
	defer benchMu.Unlock()
	if c, ok := signedCases[name]; ok {
		return c
	}
	plain := response(shape, size)
	enc := &wssec.Encryptor{Certificate: oldID.Certificate, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES256GCM}
	var msg []byte
	pol := wssec.Policy{}
	switch order {
	case "signed":
		msg = sign(b, plain, receiverID, signOpts{})
		pol.AllowPlaintextBody = true
	case "sign-then-encrypt":
		msg = encrypt(b, enc, sign(b, plain, receiverID, signOpts{}))
	case "encrypt-then-sign":
		msg = sign(b, encrypt(b, enc, plain), receiverID, signOpts{})
	}
	clk := fakeclock.New(t0.Add(time.Minute))
	c := &signedCase{msg: msg, size: len(plain),
		d: &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(oldID)), Signers: trustRing(b, clk, receiverID.Certificate), Policy: pol}}
	if _, err := c.d.Decrypt(msg); err != nil {
		b.Fatalf("Decrypt(%s) error = %v", name, err)
	}
	c.floor = signedFloor(b, msg, order != "signed")
	signedCases[name] = c
	return c
}

// signedFloor returns the floor of signedCase for msg.
func signedFloor(b *testing.B, msg []byte, encrypted bool) func() {
	digest := sha256.Sum256(msg[:64])
	sig, err := rsa.SignPKCS1v15(rand.Reader, receiverID.Signer.(*rsa.PrivateKey), crypto.SHA256, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	pub := receiverID.Signer.(*rsa.PrivateKey).Public().(*rsa.PublicKey)
	var ek, cv, cek, buf []byte
	if encrypted {
		// The encryptor writes the EncryptedKey's CipherValue first and
		// the EncryptedData's second.
		values := bytes.SplitN(msg, []byte("<xenc:CipherValue>"), 3)
		ev, err := base64.StdEncoding.DecodeString(string(values[1][:bytes.IndexByte(values[1], '<')]))
		if err != nil {
			b.Fatal(err)
		}
		if cek, err = rsa.DecryptOAEP(crypto.SHA1.New(), nil, oldID.Key, ev, nil); err != nil {
			b.Fatal(err)
		}
		ek = ev
		cv = values[2][:bytes.IndexByte(values[2], '<')]
		buf = make([]byte, base64.StdEncoding.DecodedLen(len(cv)))
	}
	return func() {
		if encrypted {
			if _, err := rsa.DecryptOAEP(crypto.SHA1.New(), nil, oldID.Key, ek, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
		if encrypted {
			n, err := base64.StdEncoding.Decode(buf, cv)
			if err != nil {
				b.Fatal(err)
			}
			if err := floorDecrypt(wssec.AES256GCM, cek, buf[:n]); err != nil {
				b.Fatal(err)
			}
		}
		sha256.Sum256(msg)
	}
}

// pairedRun times whole and floor alternately, in alternating order, and
// returns the per-iteration durations of each, so that a change in the
// machine's speed during the run falls on both.
func pairedRun(b *testing.B, whole, floor func()) (w, f []time.Duration) {
	for i := 0; b.Loop(); i++ {
		first, second := whole, floor
		if i%2 == 1 {
			first, second = floor, whole
		}
		t0 := time.Now()
		first()
		t1 := time.Now()
		second()
		t2 := time.Now()
		a, c := t1.Sub(t0), t2.Sub(t1)
		if i%2 == 1 {
			a, c = c, a
		}
		w, f = append(w, a), append(f, c)
	}
	return w, f
}

// BenchmarkVerify_overhead measures the XML work of a signed 1 KB
// response on top of its RSA operations (one PKCS#1 v1.5 verification,
// and one RSA-OAEP decryption if encrypted) and SHA-256 of the message:
// each iteration times one whole Decrypt and the floor, in alternating
// order; the benchmark reports the median of the per-iteration
// differences (xml-µs) and of the ratios (×floor).
func BenchmarkVerify_overhead(b *testing.B) {
	for _, order := range signedOrders {
		b.Run(order+"/records/1KB", func(b *testing.B) {
			c := signedCaseFor(b, order, "records", 1<<10)
			w, f := pairedRun(b, c.decrypt(b), c.floor)
			var diffs, ratios []float64
			for i := range w {
				diffs = append(diffs, float64(w[i]-f[i])/1e3)
				ratios = append(ratios, float64(w[i])/float64(f[i]))
			}
			b.ReportMetric(median(diffs), "xml-µs")
			b.ReportMetric(median(ratios), "×floor")
		})
	}
}

// BenchmarkVerify_ofFloor measures 16 MB signed responses against their
// floor in pairs, as BenchmarkDecrypt_ofFloor does, and reports the
// median of floor time ÷ Decrypt time (of-floor) and the median
// throughput of Decrypt over the plaintext envelope (MB/s, 10^6 bytes).
func BenchmarkVerify_ofFloor(b *testing.B) {
	for _, order := range signedOrders {
		for _, shape := range []string{"records", "document"} {
			b.Run(order+"/"+shape+"/16MB", func(b *testing.B) {
				c := signedCaseFor(b, order, shape, 16<<20)
				w, f := pairedRun(b, c.decrypt(b), c.floor)
				var ratios, rates []float64
				for i := range w {
					ratios = append(ratios, float64(f[i])/float64(w[i]))
					rates = append(rates, float64(c.size)/w[i].Seconds()/1e6)
				}
				b.ReportMetric(median(ratios), "of-floor")
				b.ReportMetric(median(rates), "MB/s")
			})
		}
	}
}

// BenchmarkVerify_signed measures whole signed responses, with
// allocations, for profiling.
func BenchmarkVerify_signed(b *testing.B) {
	for _, order := range signedOrders {
		for _, shape := range []string{"records", "document"} {
			for _, sz := range []struct {
				name string
				n    int
			}{{"1KB", 1 << 10}, {"16MB", 16 << 20}} {
				if shape == "document" && sz.n < 1<<20 {
					continue
				}
				b.Run(order+"/"+shape+"/"+sz.name, func(b *testing.B) {
					c := signedCaseFor(b, order, shape, sz.n)
					whole := c.decrypt(b)
					b.SetBytes(int64(c.size))
					b.ReportAllocs()
					for b.Loop() {
						whole()
					}
				})
			}
		}
	}
}

func (c *signedCase) decrypt(b *testing.B) func() {
	return func() {
		if _, err := c.d.Decrypt(c.msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify_ringSize measures a signed, encrypted 1 KB response
// (sign-then-encrypt) with a key ring and a trust ring of 100 entries
// against one of one entry each, in pairs: each iteration times one
// Decrypt with each, in alternating order, and the benchmark reports the
// median of the ratios (×one, 1 means no cost from the size).
func BenchmarkVerify_ringSize(b *testing.B) {
	c := signedCaseFor(b, "sign-then-encrypt", "records", 1<<10)
	clk := fakeclock.New(t0.Add(time.Minute))
	keys := wssec.NewKeyRing(keyOf(newID))
	if err := keys.Retain(keyOf(oldID), t0.AddDate(1, 0, 0)); err != nil {
		b.Fatal(err)
	}
	for i := 2; i < 100; i++ {
		if err := keys.Retain(syntheticKey(b, i), t0.AddDate(1, 0, 0)); err != nil {
			b.Fatal(err)
		}
	}
	signers := trustRing(b, clk, receiverNewID.Certificate, receiverID.Certificate)
	for i := 2; i < 100; i++ {
		if err := signers.Retain(syntheticKey(b, 1000+i).Certificate, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	if len(keys.Snapshot()) != 100 || len(signers.Snapshot()) != 100 {
		b.Fatalf("rings of %d and %d entries, want 100", len(keys.Snapshot()), len(signers.Snapshot()))
	}
	large := &signedCase{msg: c.msg, d: &wssec.Decryptor{Keys: keys, Signers: signers}}
	w, f := pairedRun(b, large.decrypt(b), c.decrypt(b))
	var ratios []float64
	for i := range w {
		ratios = append(ratios, float64(w[i])/float64(f[i]))
	}
	b.ReportMetric(median(ratios), "×one")
}
