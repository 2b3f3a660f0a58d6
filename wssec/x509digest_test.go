package wssec_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// setKeyInfo replaces the children of the first EncryptedKey's KeyInfo
// with keyInfo, a fragment that may use the ds, dsig11 and xenc prefixes.
func setKeyInfo(t testing.TB, msg []byte, keyInfo string) []byte {
	t.Helper()
	return edit(t, msg, func(d *etree.Document) {
		ki := find(d, "EncryptedKey").SelectElement("KeyInfo")
		for len(ki.Child) > 0 {
			ki.RemoveChildAt(0)
		}
		for _, c := range fragment(t, keyInfo) {
			ki.AddChild(c)
		}
	})
}

// fragment parses XML elements that may use the ds, dsig11 and xenc
// prefixes.
func fragment(t testing.TB, s string) []*etree.Element {
	t.Helper()
	x := etree.NewDocument()
	if err := x.ReadFromString(`<w xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">` + s + `</w>`); err != nil {
		t.Fatal(err)
	}
	return x.Root().ChildElements()
}

func x509Digest(alg string, digest []byte) string {
	return `<ds:X509Data><dsig11:X509Digest xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" Algorithm="` + alg + `">` + base64.StdEncoding.EncodeToString(digest) + "\n</dsig11:X509Digest></ds:X509Data>"
}

// TestDecrypt_x509Digest selects the retained key of a renewal by a
// dsig11:X509Digest of its certificate, with every digest XML Signature
// 1.1 and RFC 9231 name.
func TestDecrypt_x509Digest(t *testing.T) {
	t.Parallel()
	raw := oldID.Certificate.Raw
	s1, s224, s256 := sha1.Sum(raw), sha256.Sum224(raw), sha256.Sum256(raw)
	s384, s512 := sha512.Sum384(raw), sha512.Sum512(raw)
	t224, t256, t384, t512 := sha3.Sum224(raw), sha3.Sum256(raw), sha3.Sum384(raw), sha3.Sum512(raw)
	stranger := sha256.Sum256(strangerID.Certificate.Raw)
	tests := []struct {
		name    string
		keyInfo string
		wantErr error
	}{
		{"sha1", x509Digest("http://www.w3.org/2000/09/xmldsig#sha1", s1[:]), nil},
		{"sha224", x509Digest("http://www.w3.org/2001/04/xmldsig-more#sha224", s224[:]), nil},
		{"sha256", x509Digest("http://www.w3.org/2001/04/xmlenc#sha256", s256[:]), nil},
		{"sha384", x509Digest("http://www.w3.org/2001/04/xmldsig-more#sha384", s384[:]), nil},
		{"sha512", x509Digest("http://www.w3.org/2001/04/xmlenc#sha512", s512[:]), nil},
		{"sha3-224", x509Digest("http://www.w3.org/2007/05/xmldsig-more#sha3-224", t224[:]), nil},
		{"sha3-256", x509Digest("http://www.w3.org/2007/05/xmldsig-more#sha3-256", t256[:]), nil},
		{"sha3-384", x509Digest("http://www.w3.org/2007/05/xmldsig-more#sha3-384", t384[:]), nil},
		{"sha3-512", x509Digest("http://www.w3.org/2007/05/xmldsig-more#sha3-512", t512[:]), nil},
		{"in a SecurityTokenReference", `<wsse:SecurityTokenReference xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` +
			x509Digest("http://www.w3.org/2001/04/xmlenc#sha256", s256[:]) + `</wsse:SecurityTokenReference>`, nil},
		{"stranger", x509Digest("http://www.w3.org/2001/04/xmlenc#sha256", stranger[:]), wssec.ErrNoMatchingKey},
		{"digest under another algorithm", x509Digest("http://www.w3.org/2007/05/xmldsig-more#sha3-256", s256[:]), wssec.ErrNoMatchingKey},
		{"wrong length", x509Digest("http://www.w3.org/2001/04/xmlenc#sha256", s1[:]), wssec.ErrMalformed},
		{"not base64", `<ds:X509Data><dsig11:X509Digest xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" Algorithm="http://www.w3.org/2001/04/xmlenc#sha256">%%%</dsig11:X509Digest></ds:X509Data>`, wssec.ErrMalformed},
		{"no algorithm", `<ds:X509Data><dsig11:X509Digest xmlns:dsig11="http://www.w3.org/2009/xmldsig11#">` + base64.StdEncoding.EncodeToString(s256[:]) + `</dsig11:X509Digest></ds:X509Data>`, wssec.ErrMalformed},
		{"unknown algorithm", x509Digest("http://www.w3.org/2001/04/xmldsig-more#md5", s256[:16]), wssec.ErrAlgorithmNotAllowed},
	}
	out := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response12.xml"))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: wssec.Policy{DisableTrialDecryption: true}}
			res, err := d.Decrypt(setKeyInfo(t, out, tc.keyInfo))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err == nil && !res.KeysUsed[0].Equal(oldID.Certificate) {
				t.Errorf("Decrypt(%s) used %s, want the old key", tc.name, res.KeysUsed[0].SerialNumber)
			}
		})
	}
}
