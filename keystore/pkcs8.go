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
// PrivateKeyInfo DER. Errors are [*Error]s.
func decryptPKCS8(der []byte, password string) ([]byte, error) {
	const format = "PEM"
	fail := func(sentinel error, reason string) ([]byte, error) {
		return nil, &Error{Source: format, Reason: reason, Err: sentinel}
	}
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return fail(ErrMalformed, "encrypted private key structure")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return fail(ErrEncryptedKey, fmt.Sprintf("encryption scheme %s is not supported (use PBES2, the default of openssl pkcs8 -topk8)", info.Algorithm.Algorithm))
	}
	var params pbes2Params
	if rest, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil || len(rest) != 0 {
		return fail(ErrMalformed, "PBES2 parameters")
	}
	if !params.KDF.Algorithm.Equal(oidPBKDF2) {
		return fail(ErrEncryptedKey, fmt.Sprintf("key derivation %s is not supported (use PBKDF2)", params.KDF.Algorithm))
	}
	var kdf pbkdf2Params
	if rest, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil || len(rest) != 0 {
		return fail(ErrMalformed, "PBKDF2 parameters")
	}
	if kdf.Iterations < 1 || kdf.Iterations > maxKDFIterations {
		return fail(ErrMalformed, fmt.Sprintf("PBKDF2 iteration count %d out of range 1 to %d", kdf.Iterations, maxKDFIterations))
	}
	prf, ok := pbkdf2PRF(kdf.PRF.Algorithm)
	if !ok {
		return fail(ErrEncryptedKey, fmt.Sprintf("PBKDF2 function %s is not supported", kdf.PRF.Algorithm))
	}
	keyLen, newCipher, ok := pbes2Cipher(params.Scheme.Algorithm)
	if !ok {
		return fail(ErrEncryptedKey, fmt.Sprintf("cipher %s is not supported", params.Scheme.Algorithm))
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != keyLen {
		return fail(ErrMalformed, "PBKDF2 key length does not fit the cipher")
	}
	var iv []byte
	if rest, err := asn1.Unmarshal(params.Scheme.Parameters.FullBytes, &iv); err != nil || len(rest) != 0 {
		return fail(ErrMalformed, "cipher parameters")
	}
	key, err := pbkdf2.Key(prf, password, kdf.Salt, kdf.Iterations, keyLen)
	if err != nil {
		return fail(ErrEncryptedKey, "key derivation refused")
	}
	block, err := newCipher(key)
	if err != nil {
		return fail(ErrMalformed, "cipher key")
	}
	bs := block.BlockSize()
	if len(iv) != bs || len(info.Data) == 0 || len(info.Data)%bs != 0 {
		return fail(ErrMalformed, "ciphertext or IV length")
	}
	out := make([]byte, len(info.Data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.Data)
	// PKCS#7 padding. A bad pad almost always means a wrong password.
	plain, ok := unpadPKCS7(out, bs)
	if !ok {
		return fail(ErrWrongPassword, "")
	}
	return plain, nil
}

// pbkdf2PRF returns the PBKDF2 pseudo-random function the OID names; an
// empty OID is the default, HMAC-SHA1.
func pbkdf2PRF(p asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case len(p) == 0 || p.Equal(oidHMACSHA1):
		return sha1.New, true
	case p.Equal(oidHMACSHA224):
		return sha256.New224, true
	case p.Equal(oidHMACSHA256):
		return sha256.New, true
	case p.Equal(oidHMACSHA384):
		return sha512.New384, true
	case p.Equal(oidHMACSHA512):
		return sha512.New, true
	}
	return nil, false
}

// pbes2Cipher returns the key length and block cipher of the PBES2
// encryption scheme the OID names.
func pbes2Cipher(s asn1.ObjectIdentifier) (int, func([]byte) (cipher.Block, error), bool) {
	switch {
	case s.Equal(oidAES128CBC):
		return 16, aes.NewCipher, true
	case s.Equal(oidAES192CBC):
		return 24, aes.NewCipher, true
	case s.Equal(oidAES256CBC):
		return 32, aes.NewCipher, true
	case s.Equal(oidDESEDE3CBC):
		return 24, des.NewTripleDESCipher, true
	}
	return 0, nil, false
}

// unpadPKCS7 removes the PKCS#7 padding of out, whose blocks have bs
// bytes, comparing the pad in constant time.
func unpadPKCS7(out []byte, bs int) ([]byte, bool) {
	n := int(out[len(out)-1])
	if n == 0 || n > bs {
		return nil, false
	}
	pad := out[len(out)-n:]
	want := make([]byte, n)
	for i := range want {
		want[i] = byte(n)
	}
	if subtle.ConstantTimeCompare(pad, want) != 1 {
		return nil, false
	}
	return out[:len(out)-n], true
}
