package wssec

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
)

// Key is one decryption key: a private key and the certificate a receiver
// encrypts to.
//
// Decrypter may be an *rsa.PrivateKey or any crypto.Decrypter whose key
// lives in an HSM or KMS; this package reaches it only through the
// interface, with rsa.OAEPOptions and rsa.PKCS1v15DecryptOptions.
type Key struct {
	Decrypter   crypto.Decrypter
	Certificate *x509.Certificate
	// Name is an optional alias. A message that names its key with
	// ds:KeyName is matched against it.
	Name string
}

// Fingerprint is the SHA-256 digest of a certificate's DER encoding. It
// identifies a key in the ring, in errors, snapshots, logs, metrics and
// audit records.
//
// A fingerprint has one printed form, [Fingerprint.String]: the 32 bytes
// as upper-case hex pairs separated by colons, such as
// "3F:90:6F:…:A1". It is what `openssl x509 -noout -fingerprint -sha256`,
// `keytool -list -v` and certificate viewers print, so an administrator
// compares it with what the partner sees character for character, with no
// conversion and no shortened prefix that two certificates could share.
// Every fingerprint this module prints uses it; persisted files keep their
// own documented encodings.
type Fingerprint [sha256.Size]byte

// FingerprintOf returns the fingerprint of cert. It returns the zero
// Fingerprint for a nil certificate.
func FingerprintOf(cert *x509.Certificate) Fingerprint {
	if cert == nil {
		return Fingerprint{}
	}
	return sha256.Sum256(cert.Raw)
}

// String returns the fingerprint as upper-case hex pairs separated by
// colons, the one printed form of a fingerprint (see [Fingerprint]).
func (f Fingerprint) String() string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 3*len(f)-1)
	for i, c := range f {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[c>>4], digits[c&0x0f])
	}
	return string(b)
}

// Key sizes. A current key, and any key added to a ring, has at least
// minRSABits; a retained key may have weakRSABits only with
// [RingOptions.AllowWeakRetainedKey].
const (
	minRSABits  = 2048
	weakRSABits = 1024
)

// validate checks that k can decrypt: it has a Decrypter and an RSA
// certificate of at least minBits for the same public key.
func (k Key) validate(minBits int) (*rsa.PublicKey, error) {
	fp := FingerprintOf(k.Certificate)
	fail := func(reason string) (*rsa.PublicKey, error) {
		return nil, &KeyError{Fingerprint: fp, Reason: reason, Err: ErrInvalidKey}
	}
	if k.Certificate == nil {
		return fail("no certificate")
	}
	if k.Decrypter == nil {
		return fail("no Decrypter")
	}
	pub, ok := k.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return fail("certificate key is not RSA")
	}
	if pub.N.BitLen() < minBits {
		return fail(fmt.Sprintf("RSA key of %d bits, shorter than %d", pub.N.BitLen(), minBits))
	}
	// A Decrypter's Public method is outside our control; a nil or
	// foreign value must give an error, not a panic.
	eq, ok := k.Decrypter.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq.Equal(pub) {
		return fail("certificate does not belong to the private key")
	}
	return pub, nil
}

// thumbprintSHA1 is the SHA-1 digest of the certificate's DER encoding, as
// the WS-Security ThumbprintSHA1 key identifier carries it.
func thumbprintSHA1(cert *x509.Certificate) [sha1.Size]byte {
	return sha1.Sum(cert.Raw)
}
