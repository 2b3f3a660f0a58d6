package keystore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// Object identifiers of PKCS#5 v2.1 (RFC 8018) and the ciphers it uses.
var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

// encryptedPrivateKeyInfo is RFC 5958, section 3.
type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

// pbes2Params is RFC 8018, appendix A.4.
type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

// pbkdf2Params is RFC 8018, appendix A.2.
type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// decryptPKCS8 decrypts an EncryptedPrivateKeyInfo protected with PBES2,
// PBKDF2 (HMAC-SHA-1 or SHA-2) and AES-CBC or 3DES-CBC, and returns the
// PrivateKeyInfo DER. Errors are [*ParseError]s.
func decryptPKCS8(der []byte, password string) ([]byte, error) {
	s, err := parsePBES2(der)
	if err != nil {
		return nil, err
	}
	key, err := pbkdf2.Key(s.prf, password, s.kdf.Salt, s.kdf.Iterations, s.keyLen)
	if err != nil {
		return nil, pkcs8Error(ErrEncryptedKey, "key derivation refused")
	}
	block, err := s.newCipher(key)
	if err != nil {
		return nil, pkcs8Error(ErrMalformed, "cipher key")
	}
	bs := block.BlockSize()
	if len(s.iv) != bs || len(s.data) == 0 || len(s.data)%bs != 0 {
		return nil, pkcs8Error(ErrMalformed, "ciphertext or IV length")
	}
	out := make([]byte, len(s.data))
	cipher.NewCBCDecrypter(block, s.iv).CryptBlocks(out, s.data)
	return unpadPKCS7(out, bs)
}

// pbes2Scheme is everything an EncryptedPrivateKeyInfo says about how to
// decrypt it, checked and resolved to functions, before the password is
// used.
type pbes2Scheme struct {
	kdf       pbkdf2Params
	prf       func() hash.Hash
	keyLen    int
	newCipher func([]byte) (cipher.Block, error)
	iv        []byte
	data      []byte
}

// parsePBES2 decodes an EncryptedPrivateKeyInfo and its PBES2 and PBKDF2
// parameters. A structure that does not decode, or has trailing bytes,
// is [ErrMalformed]; a scheme, key derivation, PRF or cipher other than
// the supported ones is [ErrEncryptedKey].
func parsePBES2(der []byte) (*pbes2Scheme, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, pkcs8Error(ErrMalformed, "encrypted private key structure")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, pkcs8Error(ErrEncryptedKey, fmt.Sprintf("encryption scheme %s is not supported (use PBES2, the default of openssl pkcs8 -topk8)", info.Algorithm.Algorithm))
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return nil, pkcs8Error(ErrMalformed, "PBES2 parameters")
	}
	kdf, err := parsePBKDF2(params.KDF)
	if err != nil {
		return nil, err
	}
	prf, err := pbkdf2PRF(kdf.PRF.Algorithm)
	if err != nil {
		return nil, err
	}
	keyLen, newCipher, err := pbes2Cipher(params.Scheme.Algorithm)
	if err != nil {
		return nil, err
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return nil, pkcs8Error(ErrMalformed, "PBKDF2 key length does not fit the cipher")
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 {
		return nil, pkcs8Error(ErrMalformed, "cipher parameters")
	}
	return &pbes2Scheme{kdf: kdf, prf: prf, keyLen: keyLen, newCipher: newCipher, iv: iv, data: info.Data}, nil
}

// parsePBKDF2 checks that a PBES2 key derivation is PBKDF2 and decodes
// its parameters. The iteration count is bounded by maxKDFIterations so
// that a hostile file cannot make the derivation run for hours.
func parsePBKDF2(alg pkix.AlgorithmIdentifier) (pbkdf2Params, error) {
	var kdf pbkdf2Params
	if !alg.Algorithm.Equal(oidPBKDF2) {
		return kdf, pkcs8Error(ErrEncryptedKey, fmt.Sprintf("key derivation %s is not supported (use PBKDF2)", alg.Algorithm))
	}
	if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return kdf, pkcs8Error(ErrMalformed, "PBKDF2 parameters")
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxKDFIterations {
		return kdf, pkcs8Error(ErrMalformed, fmt.Sprintf("PBKDF2 iteration count %d out of range 1 to %d", kdf.Iterations, maxKDFIterations))
	}
	return kdf, nil
}

// pbkdf2PRF returns the hash of a PBKDF2 pseudo-random function; an
// absent PRF means HMAC-SHA-1 (RFC 8018, appendix A.2).
func pbkdf2PRF(p asn1.ObjectIdentifier) (func() hash.Hash, error) {
	switch {
	case len(p) == 0 || p.Equal(oidHMACSHA1):
		return sha1.New, nil
	case p.Equal(oidHMACSHA224):
		return sha256.New224, nil
	case p.Equal(oidHMACSHA256):
		return sha256.New, nil
	case p.Equal(oidHMACSHA384):
		return sha512.New384, nil
	case p.Equal(oidHMACSHA512):
		return sha512.New, nil
	}
	return nil, pkcs8Error(ErrEncryptedKey, fmt.Sprintf("PBKDF2 function %s is not supported", p))
}

// pbes2Cipher returns the key length and block cipher of a PBES2
// encryption scheme.
func pbes2Cipher(s asn1.ObjectIdentifier) (int, func([]byte) (cipher.Block, error), error) {
	switch {
	case s.Equal(oidAES128CBC):
		return 16, aes.NewCipher, nil
	case s.Equal(oidAES192CBC):
		return 24, aes.NewCipher, nil
	case s.Equal(oidAES256CBC):
		return 32, aes.NewCipher, nil
	case s.Equal(oidDESEDE3CBC):
		return 24, des.NewTripleDESCipher, nil
	}
	return 0, nil, pkcs8Error(ErrEncryptedKey, fmt.Sprintf("cipher %s is not supported", s))
}

// unpadPKCS7 removes the PKCS#7 padding of a decrypted private key, whose
// length is a non-zero multiple of the block size bs. A bad pad almost
// always means a wrong password, so it is [ErrWrongPassword]; the pad
// bytes are compared in constant time.
func unpadPKCS7(out []byte, bs int) ([]byte, error) {
	n := int(out[len(out)-1])
	if n == 0 || n > bs {
		return nil, pkcs8Error(ErrWrongPassword, "")
	}
	pad := out[len(out)-n:]
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(n)
	}
	if subtle.ConstantTimeCompare(pad, want) != 1 {
		return nil, pkcs8Error(ErrWrongPassword, "")
	}
	return out[:len(out)-n], nil
}

// pkcs8Error is the [*ParseError] of an encrypted private key, which
// arrives in a PEM block.
func pkcs8Error(sentinel error, reason string) error {
	return &ParseError{Format: "PEM", Reason: reason, Err: sentinel}
}
