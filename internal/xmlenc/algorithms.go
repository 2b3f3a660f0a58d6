package xmlenc

import (
	"crypto"
	_ "crypto/sha1" // registers the hashes that crypto.Hash.New needs
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Algorithm identifiers (XML Encryption 1.0 and 1.1, XML Signature).
const (
	RSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	RSAOAEP      = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	RSA15        = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"

	AES128CBC    = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AES192CBC    = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	AES256CBC    = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	TripleDESCBC = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
	AES128GCM    = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AES192GCM    = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	AES256GCM    = "http://www.w3.org/2009/xmlenc11#aes256-gcm"

	digestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	digestSHA224 = "http://www.w3.org/2001/04/xmldsig-more#sha224"
	digestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	digestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	digestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

	mgf1SHA1   = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
	mgf1SHA224 = "http://www.w3.org/2009/xmlenc11#mgf1sha224"
	mgf1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
	mgf1SHA384 = "http://www.w3.org/2009/xmlenc11#mgf1sha384"
	mgf1SHA512 = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
)

// Element type URIs of EncryptedData.
const (
	TypeElement = "http://www.w3.org/2001/04/xmlenc#Element"
	TypeContent = "http://www.w3.org/2001/04/xmlenc#Content"
)

// Cipher describes a data encryption algorithm's framing.
type Cipher struct {
	KeySize   int  // bytes
	BlockSize int  // bytes; the CBC block, or 1 for GCM
	IVSize    int  // bytes at the start of the CipherValue
	TagSize   int  // bytes at the end of the CipherValue (GCM)
	GCM       bool // authenticated
	TripleDES bool
}

var ciphers = map[string]Cipher{
	AES128CBC:    {KeySize: 16, BlockSize: 16, IVSize: 16},
	AES192CBC:    {KeySize: 24, BlockSize: 16, IVSize: 16},
	AES256CBC:    {KeySize: 32, BlockSize: 16, IVSize: 16},
	TripleDESCBC: {KeySize: 24, BlockSize: 8, IVSize: 8, TripleDES: true},
	AES128GCM:    {KeySize: 16, BlockSize: 1, IVSize: 12, TagSize: 16, GCM: true},
	AES192GCM:    {KeySize: 24, BlockSize: 1, IVSize: 12, TagSize: 16, GCM: true},
	AES256GCM:    {KeySize: 32, BlockSize: 1, IVSize: 12, TagSize: 16, GCM: true},
}

// LookupCipher returns the framing of a data encryption algorithm.
func LookupCipher(uri string) (Cipher, bool) {
	c, ok := ciphers[uri]
	return c, ok
}

var digests = map[string]crypto.Hash{
	digestSHA1:   crypto.SHA1,
	digestSHA224: crypto.SHA224,
	digestSHA256: crypto.SHA256,
	digestSHA384: crypto.SHA384,
	digestSHA512: crypto.SHA512,
}

var mgfs = map[string]crypto.Hash{
	mgf1SHA1:   crypto.SHA1,
	mgf1SHA224: crypto.SHA224,
	mgf1SHA256: crypto.SHA256,
	mgf1SHA384: crypto.SHA384,
	mgf1SHA512: crypto.SHA512,
}

// LookupDigest maps a DigestMethod URI to its hash.
func LookupDigest(uri string) (crypto.Hash, bool) {
	h, ok := digests[uri]
	return h, ok
}

// LookupMGF maps an xenc11:MGF Algorithm URI to the hash MGF1 uses.
func LookupMGF(uri string) (crypto.Hash, bool) {
	h, ok := mgfs[uri]
	return h, ok
}

// DigestURI returns the DigestMethod URI of a hash, or "" if it has none.
func DigestURI(h crypto.Hash) string {
	for uri, x := range digests {
		if x == h {
			return uri
		}
	}
	return ""
}

// MGFURI returns the MGF Algorithm URI of MGF1 with hash h, or "".
func MGFURI(h crypto.Hash) string {
	for uri, x := range mgfs {
		if x == h {
			return uri
		}
	}
	return ""
}
