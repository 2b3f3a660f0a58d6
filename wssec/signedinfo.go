package wssec

import (
	"crypto"
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

type sigMethod struct {
	hash  crypto.Hash
	ecdsa bool
}

var sigMethods = map[string]sigMethod{
	sigRSASHA1:     {crypto.SHA1, false},
	sigRSASHA256:   {crypto.SHA256, false},
	sigRSASHA384:   {crypto.SHA384, false},
	sigRSASHA512:   {crypto.SHA512, false},
	sigECDSASHA256: {crypto.SHA256, true},
	sigECDSASHA384: {crypto.SHA384, true},
	sigECDSASHA512: {crypto.SHA512, true},
}

type c14nMethod struct {
	alg      string
	prefixes string
}

type reference struct {
	uri      string
	el       *etree.Element
	c14n     string
	prefixes string
	digest   crypto.Hash
	value    []byte
}

// parseSignedInfo reads SignedInfo and checks every algorithm and
// reference before any digest or signature is computed.
func (v *verifier) parseSignedInfo(si *etree.Element) (c14nMethod, sigMethod, []reference, error) {
	var c14n c14nMethod
	var method sigMethod
	var refs []reference
	sawC14N, sawMethod := false, false
	for _, c := range si.ChildElements() {
		switch {
		case v.env.Names.Is(c, soap.NSDS, "CanonicalizationMethod") && !sawC14N:
			m, err := v.c14nOf(c)
			if err != nil {
				return c14n, method, nil, err
			}
			c14n, sawC14N = m, true
		case v.env.Names.Is(c, soap.NSDS, "SignatureMethod") && !sawMethod:
			alg := strings.TrimSpace(c.SelectAttrValue("Algorithm", ""))
			m, ok := sigMethods[alg]
			if !ok || (m.hash == crypto.SHA1 && !v.pol.allowSHA1) {
				return c14n, method, nil, algorithmError(alg)
			}
			method, sawMethod = m, true
		case v.env.Names.Is(c, soap.NSDS, "Reference"):
			if len(refs) == maxReferences {
				return c14n, method, nil, limitError("signature references", maxReferences)
			}
			r, err := v.parseReference(c)
			if err != nil {
				return c14n, method, nil, err
			}
			for _, o := range refs {
				if o.uri == r.uri {
					return c14n, method, nil, malformed("two signature references name %q", r.uri)
				}
			}
			refs = append(refs, r)
		default:
			return c14n, method, nil, malformed("unexpected %s in SignedInfo", c.FullTag())
		}
	}
	if !sawC14N || !sawMethod || len(refs) == 0 {
		return c14n, method, nil, malformed("SignedInfo lacks CanonicalizationMethod, SignatureMethod or Reference")
	}
	return c14n, method, refs, nil
}

func (v *verifier) c14nOf(el *etree.Element) (c14nMethod, error) {
	alg := strings.TrimSpace(el.SelectAttrValue("Algorithm", ""))
	switch alg {
	case algExcC14N:
		m := c14nMethod{alg: alg}
		for _, c := range el.ChildElements() {
			if c.Tag == "InclusiveNamespaces" && v.env.Names.Of(c) == algExcC14N {
				m.prefixes = c.SelectAttrValue("PrefixList", "")
			}
		}
		return m, nil
	case algC14N10, algC14N11:
		return c14nMethod{alg: alg}, nil
	}
	return c14nMethod{}, algorithmError(alg)
}

func (v *verifier) parseReference(ref *etree.Element) (reference, error) {
	r := reference{uri: strings.TrimSpace(ref.SelectAttrValue("URI", "")), c14n: algC14N10}
	// Only same-document references by Id: decided from the message
	// alone, before any signature or digest is computed, and nothing is
	// dereferenced.
	if len(r.uri) < 2 || r.uri[0] != '#' {
		return r, malformed("signature reference %q is not a reference to an element of the message", r.uri)
	}
	var sawDigest bool
	for _, c := range ref.ChildElements() {
		switch {
		case v.env.Names.Is(c, soap.NSDS, "Transforms"):
			for _, t := range c.ChildElements() {
				if !v.env.Names.Is(t, soap.NSDS, "Transform") {
					return r, malformed("unexpected %s in Transforms", t.FullTag())
				}
				m, err := v.c14nOf(t)
				if err != nil {
					return r, err
				}
				r.c14n, r.prefixes = m.alg, m.prefixes
			}
		case v.env.Names.Is(c, soap.NSDS, "DigestMethod") && !sawDigest:
			alg := strings.TrimSpace(c.SelectAttrValue("Algorithm", ""))
			h, ok := xmlenc.LookupDigest(alg)
			if !ok || (h == crypto.SHA1 && !v.pol.allowSHA1) {
				return r, algorithmError(alg)
			}
			r.digest, sawDigest = h, true
		case v.env.Names.Is(c, soap.NSDS, "DigestValue"):
			b, err := decodeText(c, encodingBase64)
			if err != nil || len(b) == 0 {
				return r, malformed("invalid DigestValue")
			}
			r.value = b
		default:
			return r, malformed("unexpected %s in Reference", c.FullTag())
		}
	}
	if !sawDigest || r.value == nil {
		return r, malformed("Reference without DigestMethod or DigestValue")
	}
	return r, nil
}
