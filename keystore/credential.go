package keystore

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"

	"github.com/wsrenew/wsrenew/wssec"
)

// minRSABits is the smallest RSA key the store accepts.
const minRSABits = 2048

// maxRSABits bounds the keys the store accepts, so that a hostile input
// cannot make every operation on it arbitrarily slow.
const maxRSABits = 16384

// Credential is a private key with its certificate and the certificates
// that came with it, as imported, generated or read from a store.
//
// Printing a Credential with any verb of package fmt shows the
// certificate's subject and fingerprint, never the key. A Credential is
// safe for concurrent use as long as nobody modifies it; the functions of
// this package do not.
type Credential struct {
	// Key is the private key. For keys kept in a store's files it is an
	// *rsa.PrivateKey.
	Key crypto.Decrypter
	// Certificate is the certificate of Key's public key.
	Certificate *x509.Certificate
	// Chain holds the other certificates that came with the key, such as
	// the issuing CA, in the order given.
	Chain []*x509.Certificate
}

// String describes the credential without its key.
func (c *Credential) String() string {
	if c == nil || c.Certificate == nil {
		return "keystore.Credential(no certificate)"
	}
	return fmt.Sprintf("keystore.Credential(%s, %s)", c.Certificate.Subject, wssec.FingerprintOf(c.Certificate).String())
}

// Format prints [Credential.String] for every verb, so that no verb of
// package fmt can print the private key.
func (c *Credential) Format(f fmt.State, verb rune) {
	io.WriteString(f, c.String())
}

// check verifies that c is usable: an RSA key of an accepted size and a
// certificate for it. format names the input in errors.
func (c *Credential) check(format string) error {
	fail := func(sentinel error, reason string) error {
		return &ParseError{Format: format, Reason: reason, Err: sentinel}
	}
	if c == nil || c.Key == nil {
		return fail(ErrMalformed, "no private key")
	}
	if c.Certificate == nil {
		return fail(ErrMalformed, "no certificate")
	}
	if len(c.Certificate.Raw) == 0 {
		return fail(ErrMalformed, "certificate has no DER encoding")
	}
	for _, ch := range c.Chain {
		if ch == nil || len(ch.Raw) == 0 {
			return fail(ErrMalformed, "chain certificate missing or without DER encoding")
		}
	}
	pub, ok := c.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok || pub == nil || pub.N == nil {
		return fail(ErrUnsupportedKey, unsupportedAlgorithm(c.Certificate.PublicKey))
	}
	if bits := pub.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return fail(ErrUnsupportedKey, fmt.Sprintf("RSA key of %d bits (want %d to %d)", bits, minRSABits, maxRSABits))
	}
	// A Decrypter from outside may return anything from Public, even an
	// RSA key without a modulus; only an equal RSA public key will do.
	kp, ok := c.Key.Public().(*rsa.PublicKey)
	if !ok || kp == nil || kp.N == nil || !pub.Equal(kp) {
		return fail(ErrKeyMismatch, "")
	}
	return nil
}

// ringKey returns the key as the key ring holds it.
func (c *Credential) ringKey(alias string) wssec.Key {
	return wssec.Key{Decrypter: c.Key, Certificate: c.Certificate, Name: alias}
}

// unsupportedAlgorithm says that key (private or public) is of an
// algorithm the store does not keep, by the algorithm's name.
func unsupportedAlgorithm(key any) string {
	var alg string
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		alg = "ECDSA " + k.Curve.Params().Name
	case *ecdsa.PublicKey:
		alg = "ECDSA " + k.Curve.Params().Name
	case ed25519.PrivateKey, ed25519.PublicKey:
		alg = "Ed25519"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		alg = "ECDH (X25519)"
	default:
		alg = "other than RSA"
	}
	return fmt.Sprintf("unsupported key algorithm %s: the store keeps RSA keys of %d to %d bits", alg, minRSABits, maxRSABits)
}
