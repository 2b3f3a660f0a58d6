package xmlenc

import (
	"crypto"
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"io"
)

// OAEPParams are the parameters of RSA-OAEP as an EncryptionMethod states
// them, already resolved to the rules of the algorithm URI.
type OAEPParams struct {
	Digest crypto.Hash // the OAEP digest
	MGF    crypto.Hash // the hash MGF1 uses
	Label  []byte      // OAEPparams, usually empty
}

// ResolveOAEP applies the XML Encryption rules to the parameters an
// EncryptionMethod gave:
//
//   - rsa-oaep-mgf1p: the digest defaults to SHA-1 and MGF1 always uses
//     SHA-1, whatever DigestMethod says (XML Encryption 1.0, 5.4.2). An
//     xenc11:MGF element (xmlsec 1.3 writes one) is accepted when it names
//     MGF1 with SHA-1, which changes nothing; naming any other MGF it
//     contradicts the algorithm and is an [*UnsupportedError];
//   - xmlenc11 rsa-oaep: the digest defaults to SHA-1 and the MGF to
//     MGF1 with SHA-1; both are honoured when present (XML Encryption 1.1,
//     5.5.2).
//
// digestURI and mgfURI are "" when the element is absent.
func ResolveOAEP(alg, digestURI, mgfURI string, label []byte) (OAEPParams, error) {
	p := OAEPParams{Digest: crypto.SHA1, MGF: crypto.SHA1, Label: label}
	if digestURI != "" {
		h, ok := LookupDigest(digestURI)
		if !ok {
			return OAEPParams{}, &UnsupportedError{URI: digestURI}
		}
		p.Digest = h
	}
	switch alg {
	case RSAOAEPMGF1P:
		if mgfURI != "" {
			if h, ok := LookupMGF(mgfURI); !ok || h != crypto.SHA1 {
				return OAEPParams{}, &UnsupportedError{URI: mgfURI}
			}
		}
	case RSAOAEP:
		if mgfURI != "" {
			h, ok := LookupMGF(mgfURI)
			if !ok {
				return OAEPParams{}, &UnsupportedError{URI: mgfURI}
			}
			p.MGF = h
		}
	default:
		return OAEPParams{}, &UnsupportedError{URI: alg}
	}
	return p, nil
}

// DecryptKeyOAEP decrypts an RSA-OAEP wrapped key through any
// crypto.Decrypter (software key, HSM or KMS). It returns ErrKeyTransport on
// any failure, including a key of the wrong length.
func DecryptKeyOAEP(d crypto.Decrypter, rand io.Reader, p OAEPParams, ciphertext []byte, keyLen int) ([]byte, error) {
	k, err := d.Decrypt(rand, ciphertext, &rsa.OAEPOptions{Hash: p.Digest, MGFHash: p.MGF, Label: p.Label})
	if err != nil || len(k) != keyLen {
		return nil, ErrKeyTransport
	}
	return k, nil
}

// DecryptKeyPKCS1v15 decrypts an RSAES-PKCS1-v1_5 wrapped key with implicit
// rejection: on a padding error or a key of the wrong length it returns a
// random key of keyLen bytes drawn from rand and no error, so that the
// failure shows only later, as a data decryption failure that looks like any
// other. It asks the Decrypter for rejection as well (rsa.PrivateKey does it
// in constant time); the substitution here covers Decrypters that do not.
func DecryptKeyPKCS1v15(d crypto.Decrypter, rand io.Reader, ciphertext []byte, keyLen int) ([]byte, error) {
	return decryptKeyPKCS1v15(d, rand, ciphertext, keyLen, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen})
}

// DecryptKeyPKCS1v15Plain is DecryptKeyPKCS1v15 for a Decrypter that
// refuses SessionKeyLen and reports padding errors as errors, such as a
// PKCS#11 token: it asks for plain PKCS#1 v1.5 and does the implicit
// rejection itself.
func DecryptKeyPKCS1v15Plain(d crypto.Decrypter, rand io.Reader, ciphertext []byte, keyLen int) ([]byte, error) {
	return decryptKeyPKCS1v15(d, rand, ciphertext, keyLen, &rsa.PKCS1v15DecryptOptions{})
}

func decryptKeyPKCS1v15(d crypto.Decrypter, rand io.Reader, ciphertext []byte, keyLen int, opts *rsa.PKCS1v15DecryptOptions) ([]byte, error) {
	fallback := make([]byte, keyLen)
	if _, err := io.ReadFull(rand, fallback); err != nil {
		return nil, fmt.Errorf("xmlenc: random: %w", err)
	}
	k, err := d.Decrypt(rand, ciphertext, opts)
	ok := 0
	if err == nil && len(k) == keyLen {
		ok = 1
	} else {
		k = make([]byte, keyLen)
	}
	subtle.ConstantTimeCopy(ok, fallback, k)
	return fallback, nil
}

// EncryptKey wraps key for pub with the given key transport algorithm.
func EncryptKey(rand io.Reader, pub *rsa.PublicKey, alg string, p OAEPParams, key []byte) ([]byte, error) {
	switch alg {
	case RSAOAEPMGF1P, RSAOAEP:
		return rsa.EncryptOAEPWithOptions(rand, pub, key, &rsa.OAEPOptions{Hash: p.Digest, MGFHash: p.MGF, Label: p.Label})
	case RSA15:
		//lint:ignore SA1019 receivers that still use RSA-1_5 are the reason it exists.
		return rsa.EncryptPKCS1v15(rand, pub, key) //nolint:staticcheck
	}
	return nil, &UnsupportedError{URI: alg}
}
