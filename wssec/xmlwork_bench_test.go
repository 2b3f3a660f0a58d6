package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/wsrenew/wsrenew/wssec"
)

// rememberingKey is an RSA key that remembers its last decryption: the
// same ciphertext again gets the same plaintext without the private-key
// operation. It lets BenchmarkDecrypt_xmlWork time Decrypt without the
// RSA operation, whose own run-to-run spread (tens of µs on RSA-2048) is
// larger than the XML work that BenchmarkDecrypt_overhead subtracts it
// from.
type rememberingKey struct {
	*rsa.PrivateKey
	mu     sync.Mutex
	ct, pt []byte
}

func (k *rememberingKey) Decrypt(rand io.Reader, ct []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ct != nil && bytes.Equal(ct, k.ct) {
		return bytes.Clone(k.pt), nil
	}
	pt, err := k.PrivateKey.Decrypt(rand, ct, opts)
	if err != nil {
		return nil, err
	}
	k.ct, k.pt = bytes.Clone(ct), bytes.Clone(pt)
	return pt, nil
}

// BenchmarkDecrypt_xmlWork measures the XML work of a 1 KB decryption
// directly: Decrypt with a key that answers the message's RSA-OAEP
// ciphertext from memory after the first call, so what remains is
// parsing, key lookup, AES, splicing and the Result.
func BenchmarkDecrypt_xmlWork(b *testing.B) {
	for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256GCM} {
		name := fmt.Sprintf("records/RSA-2048/%s/1KB", algName(de))
		b.Run(name, func(b *testing.B) {
			c := benchCaseFor(b, name, "records", oldID, de, 1<<10)
			key := &rememberingKey{PrivateKey: c.id.Key}
			d := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: key, Certificate: c.id.Certificate, Name: c.id.Name})}
			for range overheadWarmup {
				if _, err := d.Decrypt(c.msg); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Decrypt(c.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
