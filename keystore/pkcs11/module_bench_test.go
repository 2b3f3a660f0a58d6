package pkcs11_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
	"github.com/wsrenew/wsrenew/wssec"
)

// benchDecryptors returns the Decryptor of a store whose current key is
// an RSA-2048 key in SoftHSM2, and of one whose current key is the
// fixture "old" (RSA-2048) in a file, with their keys.
func benchDecryptors(b *testing.B) (token, software *wssec.Decryptor, tokenCert, softCert *keystore.Credential) {
	b.Helper()
	if !tokensBuilt {
		b.Skip("built without cgo: no PKCS#11")
	}
	h := interop.RequireSoftHSM(b, testPassword)
	mk := func(add func(s *keystore.Store) error) (*wssec.Decryptor, *keystore.Credential) {
		s, err := keystore.Create(context.Background(), keystore.Dir(b.TempDir()+"/store"), keystore.PasswordValue(testPassword), keystore.Options{Tokens: pkcs11.Module{}})
		if err != nil {
			b.Fatal(err)
		}
		if err := add(s); err != nil {
			b.Fatal(err)
		}
		ring, err := s.KeyRing()
		if err != nil {
			b.Fatal(err)
		}
		cur, _ := ring.Current()
		return &wssec.Decryptor{Keys: ring}, &keystore.Credential{Key: cur.Decrypter, Certificate: cur.Certificate}
	}
	token, tokenCert = mk(func(s *keystore.Store) error {
		u := &keystore.TokenURI{ModulePath: h.Module, Token: h.Token, Object: "bench-" + rand.Text()}
		if _, err := generateInToken(context.Background(), s, nil, "hsm", pkix.Name{CommonName: "bench"}, u, keystore.GenerateOptions{Bits: 2048}); err != nil {
			return err
		}
		return s.Update(context.Background(), func(tx *keystore.Tx) error { return tx.Rotate("hsm") })
	})
	software, softCert = mk(func(s *keystore.Store) error {
		return s.Update(context.Background(), func(tx *keystore.Tx) error {
			if err := tx.Add("file", fixture(testpki.Old), nil); err != nil {
				return err
			}
			return tx.Rotate("file")
		})
	})
	return token, software, tokenCert, softCert
}

// response1KB is a SOAP response with a Body of about 1 KB.
func response1KB() []byte {
	var sb strings.Builder
	sb.WriteString(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders"><soapenv:Body><tns:Response>`)
	for i := 0; sb.Len() < 1024; i++ {
		fmt.Fprintf(&sb, `<tns:Order id="o-%d"><tns:Customer>Customer %d</tns:Customer><tns:Total currency="EUR">%d.50</tns:Total></tns:Order>`, i, i, i)
	}
	sb.WriteString(`</tns:Response></soapenv:Body></soapenv:Envelope>`)
	return []byte(sb.String())
}

// BenchmarkDecrypt_token decrypts a 1 KB response (RSA-OAEP-MGF1P,
// AES-256-GCM) with an RSA-2048 key in SoftHSM2 and, for comparison,
// with an RSA-2048 key in a file, one at a time ("serial") and from
// GOMAXPROCS goroutines ("parallel"; run with -cpu 1,2).
func BenchmarkDecrypt_token(b *testing.B) {
	token, software, tc, sc := benchDecryptors(b)
	for _, k := range []struct {
		name string
		d    *wssec.Decryptor
		c    *keystore.Credential
	}{{"softhsm2", token, tc}, {"file", software, sc}} {
		msg, err := (&wssec.Encryptor{Certificate: k.c.Certificate, KeyTransport: wssec.RSAOAEPMGF1P}).Encrypt(response1KB())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.d.Decrypt(msg); err != nil {
			b.Fatal(err)
		}
		b.Run(k.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.d.Decrypt(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := k.d.Decrypt(msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTokenCall is the private-key operation alone: RSA-OAEP
// (SHA-1) decryption of a 32-byte key with the SoftHSM2 key through
// crypto11, and with Go's crypto/rsa for comparison, one at a time
// ("serial") and from GOMAXPROCS goroutines ("parallel"; run with -cpu
// 1,2: if nothing serialises the calls, parallel-2 takes half the time
// per operation of serial). Compared with OpenSSL's own figure for the
// RSA-2048 private operation (openssl speed rsa2048), the first gives the
// cost of the PKCS#11 call; BenchmarkTokenCall_parts splits it.
func BenchmarkTokenCall(b *testing.B) {
	_, _, tc, sc := benchDecryptors(b)
	for _, k := range []struct {
		name string
		c    *keystore.Credential
	}{{"softhsm2-oaep", tc}, {"go-rsa-oaep", sc}} {
		ct := oaepCiphertext(b, k.c)
		opts := &rsa.OAEPOptions{Hash: crypto.SHA1}
		b.Run(k.name+"/serial", func(b *testing.B) {
			for b.Loop() {
				if _, err := k.c.Key.Decrypt(rand.Reader, ct, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(k.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := k.c.Key.Decrypt(rand.Reader, ct, opts); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkTokenCall_parts splits one RSA-OAEP decryption through
// crypto11 and SoftHSM2 in two. Each iteration makes, in alternating
// order, the whole call and the same call with a ciphertext one byte
// short: SoftHSM2 then does everything but the RSA operation (cgo, the
// session pool, C_DecryptInit reading and decrypting the key's
// attributes and checking its object file, C_Decrypt up to OpenSSL's
// length check) and fails. The benchmark reports the median of the
// short call (call-µs, the PKCS#11 path without RSA) and of the
// per-iteration differences (rsa-µs: OpenSSL's RSA operation on the RSA
// object SoftHSM2 builds afresh for every C_DecryptInit, so including
// its Montgomery and blinding set-up, which openssl speed does once).
func BenchmarkTokenCall_parts(b *testing.B) {
	_, _, tc, _ := benchDecryptors(b)
	ct := oaepCiphertext(b, tc)
	short := ct[1:]
	opts := &rsa.OAEPOptions{Hash: crypto.SHA1}
	whole := func() {
		if _, err := tc.Key.Decrypt(rand.Reader, ct, opts); err != nil {
			b.Fatal(err)
		}
	}
	call := func() {
		if _, err := tc.Key.Decrypt(rand.Reader, short, opts); err == nil {
			b.Fatal("Decrypt(short ciphertext) error = nil")
		}
	}
	w, c := pairedRun(b, whole, call)
	var calls, diffs []float64
	for i := range w {
		calls = append(calls, float64(c[i])/1e3)
		diffs = append(diffs, float64(w[i]-c[i])/1e3)
	}
	b.ReportMetric(median(calls), "call-µs")
	b.ReportMetric(median(diffs), "rsa-µs")
}

// oaepCiphertext is a 32-byte value encrypted with RSA-OAEP (SHA-1) to
// c's certificate.
func oaepCiphertext(b *testing.B, c *keystore.Credential) []byte {
	b.Helper()
	pub := c.Certificate.PublicKey.(*rsa.PublicKey)
	ct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, make([]byte, 32), nil)
	if err != nil {
		b.Fatal(err)
	}
	return ct
}

// pairedRun runs whole and part once per benchmark iteration, in
// alternating order so that neither always runs first, and returns the
// time of each call.
func pairedRun(b *testing.B, whole, part func()) (w, p []time.Duration) {
	for i := 0; b.Loop(); i++ {
		first, second := whole, part
		if i%2 == 1 {
			first, second = part, whole
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
		w, p = append(w, a), append(p, c)
	}
	return w, p
}

// median returns the middle value of xs (the mean of the two middle ones
// for an even count); it sorts xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
