package pkcs11_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"testing"

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
		u := &keystore.TokenURI{ModulePath: h.Module, Token: h.Token, Object: fmt.Sprintf("bench-%p", b)}
		if _, err := s.GenerateInToken(context.Background(), "hsm", pkix.Name{CommonName: "bench"}, u, keystore.GenerateOptions{Bits: 2048}); err != nil {
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
// crypto11, and with Go's crypto/rsa for comparison. Compared with
// OpenSSL's own figure for the RSA-2048 private operation (openssl speed
// rsa2048), the first gives the cost of the PKCS#11 call.
func BenchmarkTokenCall(b *testing.B) {
	_, _, tc, sc := benchDecryptors(b)
	for _, k := range []struct {
		name string
		c    *keystore.Credential
	}{{"softhsm2-oaep", tc}, {"go-rsa-oaep", sc}} {
		pub := k.c.Certificate.PublicKey.(*rsa.PublicKey)
		ct, err := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, make([]byte, 32), nil)
		if err != nil {
			b.Fatal(err)
		}
		opts := &rsa.OAEPOptions{Hash: crypto.SHA1}
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.c.Key.Decrypt(rand.Reader, ct, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
