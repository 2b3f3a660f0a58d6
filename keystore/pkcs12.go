package keystore

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"

	gopkcs12 "software.sslmate.com/src/go-pkcs12"
)

// maxImportBytes bounds every imported file. Key stores and PEM bundles
// are a few kilobytes.
const maxImportBytes = 1 << 20

// maxKDFIterations bounds the key-derivation iterations of imported
// files. Tools use 1 to 10,000; the bound keeps a hostile file from tying
// up a CPU for minutes.
const maxKDFIterations = 1 << 20

// ParsePKCS12 decodes a PKCS#12 file (.p12, .pfx) holding one private key,
// its certificate and optionally a chain, as exported by openssl pkcs12,
// Java keytool or an integration platform. It reads files with modern
// encryption (PBES2 with AES, HMAC-SHA-256 or PBMAC1) and legacy ones
// (RC2 or 3DES with SHA-1). password is the file's own password; it may be
// empty for files without one.
//
// The certificate that matches the key becomes the Credential's
// Certificate, whatever its position in the file; the others form the
// Chain in file order.
//
// The key must be RSA of 1024 to 16384 bits: a key under 2048 bits
// decodes, so that a key in use can be renewed away from, and [Tx.Add]
// then applies the store's rule ([Options.AllowWeakRetainedKey]).
//
// ParsePKCS12 returns a [*Error] with [ErrWrongPassword],
// [ErrMalformed] (also for inputs over 1 MiB or with more than 2^20
// key-derivation iterations), [ErrUnsupportedKey] or [ErrKeyMismatch]. It
// does not keep data.
func ParsePKCS12(data []byte, password string) (*Credential, error) {
	const format = "PKCS#12"
	if len(data) > maxImportBytes {
		return nil, &Error{Source: format, Reason: fmt.Sprintf("larger than %d bytes", maxImportBytes), Err: ErrMalformed}
	}
	if err := checkIterations(data, 0); err != nil {
		return nil, &Error{Source: format, Err: ErrMalformed, Cause: err}
	}
	key, cert, chain, err := decodePKCS12(data, password)
	if err != nil {
		if errors.Is(err, gopkcs12.ErrIncorrectPassword) {
			return nil, &Error{Source: format, Err: ErrWrongPassword}
		}
		return nil, &Error{Source: format, Err: ErrMalformed, Cause: err}
	}
	dec, ok := key.(crypto.Decrypter)
	if !ok {
		return nil, &Error{Source: format, Reason: unsupportedAlgorithm(key), Err: ErrUnsupportedKey}
	}
	c := &Credential{Key: dec, Certificate: cert, Chain: chain}
	c.pickLeaf()
	if err := c.check(format, weakRSABits); err != nil {
		return nil, err
	}
	return c, nil
}

// decodePKCS12 calls go-pkcs12, turning a panic on hostile input into an
// error so that ParsePKCS12 keeps its promise never to panic.
func decodePKCS12(data []byte, password string) (key any, cert *x509.Certificate, chain []*x509.Certificate, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("pkcs12: decoder failed on malformed input")
		}
	}()
	return gopkcs12.DecodeChain(data, password)
}

// pickLeaf makes the certificate that matches the key the Certificate, if
// a chain certificate matches and the current one does not (not every
// tool writes the leaf first), and drops repeated certificates from the
// chain (a bundle and a certificate file may both hold the leaf).
func (c *Credential) pickLeaf() {
	if c.Key == nil || c.Certificate == nil {
		return
	}
	all := append([]*x509.Certificate{c.Certificate}, c.Chain...)
	leaf := 0
	if !publicKeyMatches(c.Key, c.Certificate) {
		for i, ch := range all {
			if publicKeyMatches(c.Key, ch) {
				leaf = i
				break
			}
		}
	}
	c.Certificate, c.Chain = all[leaf], nil
	for i, ch := range all {
		if i == leaf || ch.Equal(c.Certificate) || slices.ContainsFunc(c.Chain, ch.Equal) {
			continue
		}
		c.Chain = append(c.Chain, ch)
	}
}

func publicKeyMatches(key crypto.Decrypter, cert *x509.Certificate) bool {
	eq, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return false
	}
	defer func() { recover() }() // a public key without a modulus
	return eq.Equal(key.Public())
}

// encodePKCS12 writes c as a PKCS#12 file with go-pkcs12's modern encoder
// (PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, HMAC-SHA-256 MAC),
// which OpenSSL 1.1.1+, Java 12+ and Windows Server 2019+ read.
func encodePKCS12(c *Credential, password string, rand io.Reader) ([]byte, error) {
	b, err := gopkcs12.Modern.WithRand(rand).Encode(c.Key, c.Certificate, c.Chain, password)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
	}
	return b, nil
}

// checkIterations walks the DER structure of a PKCS#12 file, including
// OCTET STRINGs that hold DER, and refuses any iteration count above
// maxKDFIterations. In every structure that carries one (MacData,
// pbeParams, PBKDF2-params) the count is an INTEGER right after the salt,
// an OCTET STRING, in the same SEQUENCE. Bags inside encrypted contents
// are out of its reach; a file can only place them there by passing the
// MAC check, which takes the right password.
func checkIterations(der []byte, depth int) error {
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return nil // not DER: leave the diagnosis to the decoder
		}
		if err := checkValue(v, depth); err != nil {
			return err
		}
		der = rest
	}
	return nil
}

func checkValue(v asn1.RawValue, depth int) error {
	if depth > 32 {
		return errors.New("nesting too deep")
	}
	switch {
	case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence && v.IsCompound:
		prevOctets := false
		rest := v.Bytes
		for len(rest) > 0 {
			var c asn1.RawValue
			r, err := asn1.Unmarshal(rest, &c)
			if err != nil {
				return nil
			}
			if prevOctets && c.Class == asn1.ClassUniversal && c.Tag == asn1.TagInteger {
				n := new(big.Int).SetBytes(c.Bytes)
				if len(c.Bytes) > 8 || n.Cmp(big.NewInt(maxKDFIterations)) > 0 {
					return fmt.Errorf("more than %d key-derivation iterations", maxKDFIterations)
				}
			}
			prevOctets = c.Class == asn1.ClassUniversal && c.Tag == asn1.TagOctetString
			if err := checkValue(c, depth+1); err != nil {
				return err
			}
			rest = r
		}
	case v.IsCompound:
		return checkIterations(v.Bytes, depth+1)
	case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
		var inner asn1.RawValue
		if rest, err := asn1.Unmarshal(v.Bytes, &inner); err == nil && len(rest) == 0 {
			return checkValue(inner, depth+1)
		}
	}
	return nil
}
