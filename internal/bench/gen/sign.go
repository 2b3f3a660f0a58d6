package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/wsrenew/wsrenew/wssec"
)

const (
	nsWSSE      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsDS        = "http://www.w3.org/2000/09/xmldsig#"
	algExcC14N  = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algRSA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algSHA256   = "http://www.w3.org/2001/04/xmlenc#sha256"
	x509Token   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	base64Token = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

// signed is a message signed by sign, with the inputs of its RSA
// operation.
type signed struct {
	msg        []byte
	signedInfo []byte // the canonical SignedInfo, the bytes the signature covers
	value      []byte // the signature value
}

// inOrders returns plain signed by key (its certificate cert) in each of
// signedOrders, the encrypted ones encrypted by enc.
func inOrders(plain []byte, key *rsa.PrivateKey, cert []byte, enc *wssec.Encryptor) (map[string]signed, error) {
	// The signed-only message is the first step of sign-then-encrypt.
	s, err := sign(plain, key, cert, signedAt)
	if err != nil {
		return nil, err
	}
	ste, err := enc.Encrypt(s.msg)
	if err != nil {
		return nil, fmt.Errorf("sign-then-encrypt: %w", err)
	}
	ct, err := enc.Encrypt(plain)
	if err != nil {
		return nil, fmt.Errorf("encrypt-then-sign: %w", err)
	}
	ets, err := sign(ct, key, cert, signedAt)
	if err != nil {
		return nil, fmt.Errorf("encrypt-then-sign: %w", err)
	}
	return map[string]signed{
		"signed":            s,
		"sign-then-encrypt": {msg: ste, signedInfo: s.signedInfo, value: s.value},
		"encrypt-then-sign": ets,
	}, nil
}

// sign signs envelope the way WS-Security senders do: a wsu:Timestamp
// (Created at created, Expires five minutes later) and a
// BinarySecurityToken with the signer's certificate in a wsse:Security
// header, and a detached ds:Signature over the Body and the Timestamp,
// referenced by wsu:Id, with exclusive C14N, SHA-256 digests and
// rsa-sha256. The canonical forms come from goxmldsig's exclusive
// canonicalizer, an implementation independent of the one wssec verifies
// with; peers.sh has xmlsec1 and Santuario verify every message before it
// times anything.
func sign(envelope []byte, key *rsa.PrivateKey, cert []byte, created time.Time) (signed, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.PreserveCData = true
	if err := doc.ReadFromBytes(envelope); err != nil {
		return signed{}, err
	}
	root := doc.Root()
	var header, body *etree.Element
	for _, c := range root.ChildElements() {
		switch c.Tag {
		case "Header":
			header = c
		case "Body":
			body = c
		}
	}
	if body == nil {
		return signed{}, errors.New("sign: no Body")
	}
	if header == nil {
		header = etree.NewElement(root.Space + ":Header")
		root.InsertChildAt(body.Index(), header)
	}
	var sec *etree.Element
	for _, c := range header.ChildElements() {
		if c.Tag == "Security" {
			sec = c
		}
	}
	if sec == nil {
		sec = etree.NewElement("wsse:Security")
		sec.CreateAttr("xmlns:wsse", nsWSSE)
		sec.CreateAttr("xmlns:wsu", nsWSU)
		header.InsertChildAt(0, sec)
	}
	body.CreateAttr("xmlns:wsu", nsWSU)
	body.CreateAttr("wsu:Id", "id-body")

	ts := etree.NewElement("wsu:Timestamp")
	ts.CreateAttr("xmlns:wsu", nsWSU)
	ts.CreateAttr("wsu:Id", "TS-1")
	ts.CreateElement("wsu:Created").SetText(created.UTC().Format("2006-01-02T15:04:05.000Z"))
	ts.CreateElement("wsu:Expires").SetText(created.Add(5 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"))
	sec.InsertChildAt(0, ts)

	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", nsDS)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExcC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", algRSA256)
	sv := sig.CreateElement("ds:SignatureValue")
	str := sig.CreateElement("ds:KeyInfo").CreateElement("wsse:SecurityTokenReference")
	ref := str.CreateElement("wsse:Reference")
	ref.CreateAttr("URI", "#X509-signer")
	ref.CreateAttr("ValueType", x509Token)
	sec.InsertChildAt(0, sig)

	bst := etree.NewElement("wsse:BinarySecurityToken")
	bst.CreateAttr("xmlns:wsu", nsWSU)
	bst.CreateAttr("EncodingType", base64Token)
	bst.CreateAttr("ValueType", x509Token)
	bst.CreateAttr("wsu:Id", "X509-signer")
	bst.SetText(base64.StdEncoding.EncodeToString(cert))
	sec.InsertChildAt(0, bst)

	for _, el := range []*etree.Element{body, ts} {
		c, err := canonical(el)
		if err != nil {
			return signed{}, fmt.Errorf("sign: canonicalize %s: %w", el.Tag, err)
		}
		digest := sha256.Sum256(c)
		ref := si.CreateElement("ds:Reference")
		ref.CreateAttr("URI", "#"+el.SelectAttrValue("wsu:Id", ""))
		ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", algExcC14N)
		ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algSHA256)
		ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest[:]))
	}
	c, err := canonical(si)
	if err != nil {
		return signed{}, fmt.Errorf("sign: canonicalize SignedInfo: %w", err)
	}
	digest := sha256.Sum256(c)
	value, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return signed{}, err
	}
	sv.SetText(base64.StdEncoding.EncodeToString(value))
	out, err := doc.WriteToBytes()
	if err != nil {
		return signed{}, err
	}
	return signed{msg: out, signedInfo: c, value: value}, nil
}

// canonical returns the exclusive canonical form of el, which stays
// unchanged: a copy of el, given the namespace declarations in scope from
// its ancestors, is canonicalized by goxmldsig. (goxmldsig's own detaching
// helper stops at 1,000 elements; the tag-dense Body has hundreds of
// thousands.)
func canonical(el *etree.Element) ([]byte, error) {
	c := el.Copy()
	declared := map[string]bool{}
	prefixOf := func(a etree.Attr) (string, bool) {
		switch {
		case a.Space == "xmlns":
			return a.Key, true
		case a.Space == "" && a.Key == "xmlns":
			return "", true
		}
		return "", false
	}
	for _, a := range c.Attr {
		if p, ok := prefixOf(a); ok {
			declared[p] = true
		}
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if prefix, ok := prefixOf(a); ok && !declared[prefix] {
				declared[prefix] = true
				c.Attr = append(c.Attr, a)
			}
		}
	}
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(c)
}
