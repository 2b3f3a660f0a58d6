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

// minRSABits is the smallest RSA key the store accepts as a new or
// current key.
const minRSABits = 2048

// weakRSABits is the smallest RSA key the store keeps at all: a key in use
// of weakRSABits to minRSABits-1 bits only with
// [Options.AllowWeakRetainedKey], and only until a renewal has moved away
// from it.
const weakRSABits = 1024

// maxRSABits bounds the keys the store accepts, so that a hostile input
// cannot make every operation on it arbitrarily slow.
const maxRSABits = 16384

// Credential is a private key with its certificate and the certificates
// that came with it, as imported, generated or read from a store.
//
// Printing a Credential with any verb of package fmt ([Credential.Format])
// shows the certificate's subject and fingerprint, never the key. A Credential is
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

// Format prints the credential's certificate subject and fingerprint,
// never its key, for every verb of package fmt.
func (c *Credential) Format(f fmt.State, verb rune) {
	if c == nil || c.Certificate == nil {
		io.WriteString(f, "keystore.Credential(no certificate)")
		return
	}
	fmt.Fprintf(f, "keystore.Credential(%s, %s)", c.Certificate.Subject, wssec.FingerprintOf(c.Certificate).String())
}

// check verifies that c is usable: an RSA key of minBits to maxRSABits
// bits and a certificate for it. format names the input in errors.
func (c *Credential) check(format string, minBits int) error {
	fail := func(sentinel error, reason string) error {
		return &Error{Source: format, Reason: reason, Err: sentinel}
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
	if bits := pub.N.BitLen(); bits < minBits || bits > maxRSABits {
		return fail(ErrUnsupportedKey, fmt.Sprintf("RSA key of %d bits (want %d to %d)", bits, minBits, maxRSABits))
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

// rsaBits returns the size of cert's RSA key, or 0 if it has none.
func rsaBits(cert *x509.Certificate) int {
	if cert == nil {
		return 0
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub == nil || pub.N == nil {
		return 0
	}
	return pub.N.BitLen()
}

// weakKeyError refuses the key of the entry alias, of bits bits (under
// minRSABits), for op: without [Options.AllowWeakRetainedKey] a weak key
// has no place in the store, and with it a weak key never becomes
// current, since renewing away from it is all it is kept for.
func weakKeyError(alias string, bits int, allowed bool, op string) *EntryError {
	var cause error
	if allowed {
		cause = fmt.Errorf("%s: an RSA key of %d bits never becomes current; a key under %d bits is kept only as the retained key a renewal moves away from", op, bits, minRSABits)
	} else {
		cause = fmt.Errorf("%s: an RSA key of %d bits is under %d bits; to renew away from such a key in use, open the store with Options.AllowWeakRetainedKey", op, bits, minRSABits)
	}
	return &EntryError{Alias: alias, Err: ErrUnsupportedKey, Cause: cause}
}
