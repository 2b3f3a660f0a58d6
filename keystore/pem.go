package keystore

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// PEM block types this package reads and writes.
const (
	pemCertificate         = "CERTIFICATE"
	pemCertificateRequest  = "CERTIFICATE REQUEST"
	pemPrivateKey          = "PRIVATE KEY"
	pemEncryptedPrivateKey = "ENCRYPTED PRIVATE KEY"
	pemRSAPrivateKey       = "RSA PRIVATE KEY"
)

// ParsePEM decodes a PEM private key with its certificate and chain. The
// key may be PKCS#1 ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY") or
// encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY", PBES2 with PBKDF2 and AES-CBC
// or 3DES-CBC, as openssl pkcs8 -topk8 writes it), which needs password.
// The certificates ("CERTIFICATE") may be in certPEM, in keyPEM after the
// key, or both; the one that matches the key becomes the Credential's
// Certificate and the others its Chain, in input order. Text between
// blocks, such as openssl's "Bag Attributes", is ignored; a PEM block of
// any other type is an error.
//
// The key must be RSA of 1024 to 16384 bits: a key under 2048 bits
// decodes, so that a key in use can be renewed away from, and [Tx.Add]
// then applies the store's rule ([Options.AllowWeakRetainedKey]).
//
// ParsePEM returns a [*Error] with [ErrMalformed] (also for inputs
// over 1 MiB), [ErrEncryptedKey] (an encrypted key without password, a
// legacy "Proc-Type: 4,ENCRYPTED" key, or an unsupported scheme),
// [ErrWrongPassword], [ErrUnsupportedKey] or [ErrKeyMismatch]. It does not
// keep its inputs.
func ParsePEM(keyPEM, certPEM []byte, password string) (*Credential, error) {
	const format = "PEM"
	fail := func(sentinel error, reason string, cause error) (*Credential, error) {
		return nil, &Error{Source: format, Reason: reason, Err: sentinel, Cause: cause}
	}
	if len(keyPEM)+len(certPEM) > maxImportBytes {
		return fail(ErrMalformed, fmt.Sprintf("larger than %d bytes", maxImportBytes), nil)
	}
	var key crypto.Decrypter
	var certs []*x509.Certificate
	for _, input := range [][]byte{keyPEM, certPEM} {
		for rest := input; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch b.Type {
			case pemCertificate:
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return fail(ErrMalformed, "certificate", err)
				}
				certs = append(certs, c)
			case pemPrivateKey, pemRSAPrivateKey, pemEncryptedPrivateKey:
				if key != nil {
					return fail(ErrMalformed, "more than one private key", nil)
				}
				k, err := parsePEMKey(b, password)
				if err != nil {
					return nil, err
				}
				key = k
			default:
				if alg, ok := strings.CutSuffix(b.Type, " PRIVATE KEY"); ok {
					return fail(ErrUnsupportedKey, fmt.Sprintf("unsupported key algorithm %s (PEM block %q): the store keeps RSA keys of %d to %d bits", alg, b.Type, minRSABits, maxRSABits), nil)
				}
				return fail(ErrMalformed, fmt.Sprintf("unexpected PEM block %q", b.Type), nil)
			}
		}
	}
	if key == nil {
		return fail(ErrMalformed, "no private key", nil)
	}
	if len(certs) == 0 {
		return fail(ErrMalformed, "no certificate", nil)
	}
	c := &Credential{Key: key, Certificate: certs[0], Chain: certs[1:]}
	c.pickLeaf()
	if err := c.check(format, weakRSABits); err != nil {
		return nil, err
	}
	return c, nil
}

// parsePEMKey decodes one private key block.
func parsePEMKey(b *pem.Block, password string) (crypto.Decrypter, error) {
	const format = "PEM"
	fail := func(sentinel error, reason string, cause error) (crypto.Decrypter, error) {
		return nil, &Error{Source: format, Reason: reason, Err: sentinel, Cause: cause}
	}
	if _, ok := b.Headers["DEK-Info"]; ok || b.Headers["Proc-Type"] != "" {
		return fail(ErrEncryptedKey, "legacy PEM encryption (Proc-Type) is not supported; convert the key with openssl pkcs8 -topk8", nil)
	}
	var (
		k   any
		err error
	)
	switch b.Type {
	case pemRSAPrivateKey:
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case pemPrivateKey:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case pemEncryptedPrivateKey:
		if password == "" {
			return fail(ErrEncryptedKey, "the key is encrypted and no password was given", nil)
		}
		der, derr := decryptPKCS8(b.Bytes, password)
		if derr != nil {
			return nil, derr
		}
		k, err = x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			// Wrong passwords pass the padding check once in a few
			// hundred tries and then fail here.
			return fail(ErrWrongPassword, "", nil)
		}
	}
	if err != nil {
		return fail(ErrMalformed, "private key", err)
	}
	dec, ok := k.(crypto.Decrypter)
	if !ok {
		return fail(ErrUnsupportedKey, unsupportedAlgorithm(k), nil)
	}
	return dec, nil
}

// ParseCertificates decodes certificates from PEM ("CERTIFICATE" blocks,
// other text ignored) or from DER (one or more concatenated
// certificates), such as a CA's answer to a certificate request. It
// returns a [*Error] with [ErrMalformed] if there is no certificate,
// one cannot be parsed, a PEM block of another type appears, or the input
// is over 1 MiB. It does not keep data.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	const format = "certificate"
	fail := func(reason string, cause error) ([]*x509.Certificate, error) {
		return nil, &Error{Source: format, Reason: reason, Err: ErrMalformed, Cause: cause}
	}
	if len(data) > maxImportBytes {
		return fail(fmt.Sprintf("larger than %d bytes", maxImportBytes), nil)
	}
	var certs []*x509.Certificate
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != pemCertificate {
			return fail(fmt.Sprintf("unexpected PEM block %q", b.Type), nil)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return fail("", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		if len(bytes.TrimSpace(data)) == 0 {
			return fail("no certificate", nil)
		}
		cs, err := x509.ParseCertificates(data)
		if err != nil {
			return fail("neither PEM nor DER", err)
		}
		certs = cs
	}
	if len(certs) == 0 {
		return fail("no certificate", nil)
	}
	return certs, nil
}
