package main

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/pkcs11"
	"github.com/wsrenew/wsrenew/wssec"
)

// timeToken times the small messages with the key in a PKCS#11 token, as
// implementation "wsrenew-pkcs11": one at a time, paired with the token's
// RSA-OAEP operation alone; that operation paired with the same call on a
// ciphertext one byte short ("call": the PKCS#11 path without the RSA
// operation); and GOMAXPROCS at a time ("decrypt-parallel", wall time per
// message), followed by the same with file, the key in a file, as
// implementation "wsrenew".
func timeToken(c config, uri string, cert *x509.Certificate, file *wssec.Decryptor, entries []entry, out *json.Encoder) error {
	u, err := keystore.ParseTokenURI(uri)
	if err != nil {
		return err
	}
	cred, err := keystore.OpenTokenCredential(pkcs11.Module{}, u, keystore.PasswordEnv("WSRENEW_BENCH_PIN"), cert, nil)
	if err != nil {
		return err
	}
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: cred.Key, Certificate: cert})}
	const impl = "wsrenew-pkcs11"
	rsaDone := false
	for _, e := range entries {
		if e.payload >= large {
			continue
		}
		msg, err := os.ReadFile(filepath.Join(c.dir, e.name+".xml"))
		if err != nil {
			return err
		}
		r, err := d.Decrypt(msg)
		if err != nil {
			return fmt.Errorf("Decrypt(%s) with the token key: %w", e.name, err)
		}
		if err := check(e, r.Envelope); err != nil {
			return err
		}
		decrypt := func() error {
			_, err := d.Decrypt(msg)
			return err
		}
		if !rsaDone {
			ek, _, _, err := cipherValues(msg)
			if err != nil {
				return err
			}
			opts := &rsa.OAEPOptions{Hash: crypto.SHA1}
			rsaOp := func() error {
				_, err := cred.Key.Decrypt(nil, ek, opts)
				return err
			}
			p, err := paired(c.warmup, c.n, decrypt, rsaOp)
			if err != nil {
				return err
			}
			out.Encode(record{Impl: impl, What: "decrypt", File: e.name, MedianUS: p.a, N: c.n})
			out.Encode(record{Impl: impl, What: "rsa", MedianUS: p.b, N: c.n})
			out.Encode(record{Impl: impl, What: "overhead", File: e.name, MedianUS: p.diff, N: c.n})
			// The same call on a ciphertext one byte short: the module runs
			// everything but the RSA operation and fails (SoftHSM2 at
			// OpenSSL's length check), so it times the PKCS#11 path alone.
			short := ek[1:]
			callOnly := func() error {
				if _, err := cred.Key.Decrypt(nil, short, opts); err == nil {
					return errors.New("the token decrypted a short ciphertext")
				}
				return nil
			}
			pc, err := paired(c.warmup, c.n, rsaOp, callOnly)
			if err != nil {
				return err
			}
			out.Encode(record{Impl: impl, What: "call", MedianUS: pc.b, N: c.n})
			par, err := parallel(c.n, decrypt)
			if err != nil {
				return err
			}
			out.Encode(record{Impl: impl, What: "decrypt-parallel", File: e.name, MedianUS: par, N: c.n})
			// The same with the key in a file, right after: how far the
			// machine lets two decryptions run at once at this moment.
			par, err = parallel(c.n, func() error {
				_, err := file.Decrypt(msg)
				return err
			})
			if err != nil {
				return err
			}
			out.Encode(record{Impl: "wsrenew", What: "decrypt-parallel", File: e.name, MedianUS: par, N: c.n})
			rsaDone = true
			continue
		}
		med, err := median(c.warmup, c.n, decrypt)
		if err != nil {
			return err
		}
		out.Encode(record{Impl: impl, What: "decrypt", File: e.name, MedianUS: med, N: c.n})
	}
	return nil
}
