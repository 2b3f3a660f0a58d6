package wssec

import (
	"errors"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// FuzzKeyRefs feeds arbitrary KeyInfo content, inside a Security header so
// that token references can resolve, to the key reference parser and the
// ring lookups. Property: no panic, and every error is a *MessageError for
// ErrMalformed, or for ErrAlgorithmNotAllowed with a dsig11:X509Digest
// algorithm it does not know.
func FuzzKeyRefs(f *testing.F) {
	for _, s := range []string{
		`<ds:KeyInfo><wsse:SecurityTokenReference><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>CN=wsrenew Test CA,O=wsrenew test,C=DE</ds:X509IssuerName><ds:X509SerialNumber>4097</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></wsse:SecurityTokenReference></ds:KeyInfo>`,
		`<ds:KeyInfo><wsse:SecurityTokenReference><wsse:KeyIdentifier ValueType="http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1">AAAAAAAAAAAAAAAAAAAAAAAAAAA=</wsse:KeyIdentifier></wsse:SecurityTokenReference></ds:KeyInfo>`,
		`<wsse:BinarySecurityToken wsu:Id="t" ValueType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3">AAAA</wsse:BinarySecurityToken><ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#t"/></wsse:SecurityTokenReference></ds:KeyInfo>`,
		`<ds:KeyInfo><ds:X509Data><ds:X509SubjectName>CN=tenant.example,OU=Integration,O=Example Tenant,C=DE</ds:X509SubjectName><ds:X509SKI>AAAA</ds:X509SKI></ds:X509Data><ds:KeyName>old</ds:KeyName></ds:KeyInfo>`,
		`<ds:KeyInfo><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AQAB</ds:Modulus></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>`,
		`<ds:KeyInfo><ds:X509Data><dsig11:X509Digest xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" Algorithm="http://www.w3.org/2007/05/xmldsig-more#sha3-256">AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</dsig11:X509Digest></ds:X509Data></ds:KeyInfo>`,
		`<ds:KeyInfo><ds:X509Data><dsig11:X509Digest xmlns:dsig11="http://www.w3.org/2009/xmldsig11#" Algorithm="urn:md5">AAAA</dsig11:X509Digest></ds:X509Data></ds:KeyInfo>`,
		`<ds:KeyInfo><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>CN="a\,b"+OU=#0c0161;C=DE</ds:X509IssuerName><ds:X509SerialNumber>-1</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></ds:KeyInfo>`,
	} {
		f.Add([]byte(s))
	}
	old, nw := testpki.Load(testpki.Old), testpki.Load(testpki.New)
	ring, err := NewKeyRingOptions(Key{Decrypter: nw.Key, Certificate: nw.Certificate, Name: "new"}, RingOptions{})
	if err != nil {
		f.Fatal(err)
	}
	if err := ring.Retain(Key{Decrypter: old.Key, Certificate: old.Certificate, Name: "old"}, time.Time{}); err != nil {
		f.Fatal(err)
	}
	snap := ring.load()
	const open = `<wsse:Security xmlns:wsse="` + soap.NSWSSE + `" xmlns:wsu="` + soap.NSWSU + `" xmlns:ds="` + soap.NSDS + `">`
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := xmlscan.ParseTree(append(append([]byte(open), data...), "</wsse:Security>"...), xmlscan.Limits{MaxDepth: 20, MaxElements: 1000, MaxAttributes: 16, MaxNamespaces: 20, MaxAttrValue: 4096}, nil)
		if err != nil {
			return
		}
		doc, names := tr.Doc, soap.NewNames(tr.Names)
		ids, err := soap.IndexIDs(doc.Root(), names)
		if err != nil {
			return
		}
		ki := doc.Root().FindElement("./KeyInfo")
		refs, err := keyRefs(names, ki, ids, doc.Root())
		var me *MessageError
		if err != nil {
			if !errors.As(err, &me) || (me.Err != ErrMalformed && me.Err != ErrAlgorithmNotAllowed) {
				t.Fatalf("keyRefs error = %v, want a *MessageError for ErrMalformed or ErrAlgorithmNotAllowed", err)
			}
			return
		}
		if _, err := snap.candidates(refs); err != nil && !isMalformed(err) {
			t.Fatalf("candidates error = %v, want a *MessageError for ErrMalformed", err)
		}
	})
}
