package wssec

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/x509"
	"strings"

	"github.com/beevik/etree"
)

// nsDSIG11 is the XML Signature 1.1 namespace of dsig11:X509Digest.
const nsDSIG11 = "http://www.w3.org/2009/xmldsig11#"

// x509DigestAlgorithms are the DigestMethod URIs a dsig11:X509Digest may
// name ([XML Signature 1.1, 4.5.4.1] and [RFC 9231, 2.1.5] for SHA-3),
// with the size of their output. A digest of the whole certificate only
// selects a ring key; the key operation decides the rest, so SHA-1 is as
// good as any here.
//
// [XML Signature 1.1, 4.5.4.1]: https://www.w3.org/TR/xmldsig-core1/#sec-X509Data
// [RFC 9231, 2.1.5]: https://www.rfc-editor.org/rfc/rfc9231#section-2.1.5
var x509DigestAlgorithms = [...]struct {
	uri  string
	size int
	sum  func([]byte) []byte
}{
	{"http://www.w3.org/2000/09/xmldsig#sha1", sha1.Size, func(b []byte) []byte { h := sha1.Sum(b); return h[:] }},
	{"http://www.w3.org/2001/04/xmldsig-more#sha224", sha256.Size224, func(b []byte) []byte { h := sha256.Sum224(b); return h[:] }},
	{"http://www.w3.org/2001/04/xmlenc#sha256", sha256.Size, func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }},
	{"http://www.w3.org/2001/04/xmldsig-more#sha384", sha512.Size384, func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }},
	{"http://www.w3.org/2001/04/xmlenc#sha512", sha512.Size, func(b []byte) []byte { h := sha512.Sum512(b); return h[:] }},
	{"http://www.w3.org/2007/05/xmldsig-more#sha3-224", crypto.SHA3_224.Size(), func(b []byte) []byte { h := sha3.Sum224(b); return h[:] }},
	{"http://www.w3.org/2007/05/xmldsig-more#sha3-256", crypto.SHA3_256.Size(), func(b []byte) []byte { h := sha3.Sum256(b); return h[:] }},
	{"http://www.w3.org/2007/05/xmldsig-more#sha3-384", crypto.SHA3_384.Size(), func(b []byte) []byte { h := sha3.Sum384(b); return h[:] }},
	{"http://www.w3.org/2007/05/xmldsig-more#sha3-512", crypto.SHA3_512.Size(), func(b []byte) []byte { h := sha3.Sum512(b); return h[:] }},
}

// x509DigestRef reads a dsig11:X509Digest: the digest, with the algorithm
// its Algorithm attribute names, of the DER certificate of the key. An
// algorithm outside x509DigestAlgorithms is [ErrAlgorithmNotAllowed].
func x509DigestRef(el *etree.Element) (keyRef, error) {
	uri := strings.TrimSpace(el.SelectAttrValue("Algorithm", ""))
	for i, a := range x509DigestAlgorithms {
		if a.uri != uri {
			continue
		}
		b, err := decodeText(el, encodingBase64)
		if err != nil || len(b) != a.size {
			return keyRef{}, malformed("invalid X509Digest")
		}
		return keyRef{kind: refX509Digest, digestAlg: i, data: b}, nil
	}
	if uri == "" {
		return keyRef{}, malformed("X509Digest without Algorithm")
	}
	return keyRef{}, algorithmRefused(uri, "not supported for X509Digest")
}

// x509DigestKey is the index key of a certificate's digest with the
// algorithm at index alg of x509DigestAlgorithms.
func x509DigestKey(alg int, digest []byte) string {
	return string(rune('a'+alg)) + string(digest)
}

// indexX509Digests adds e under every digest of its certificate, so that
// an X509Digest reference is one map lookup whatever its algorithm.
func indexX509Digests(m map[string][]*ringEntry, e *ringEntry, cert *x509.Certificate) {
	for i, a := range x509DigestAlgorithms {
		k := x509DigestKey(i, a.sum(cert.Raw))
		m[k] = append(m[k], e)
	}
}
