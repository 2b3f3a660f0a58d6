package wssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/c14n"
	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// XML Signature algorithm identifiers this package verifies.
const (
	algExcC14N        = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algC14N10         = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	algC14N11         = "http://www.w3.org/2006/12/xml-c14n11"
	sigRSASHA1        = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	sigRSASHA256      = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	sigRSASHA384      = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	sigRSASHA512      = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	sigECDSASHA256    = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	sigECDSASHA384    = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	sigECDSASHA512    = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
	maxReferences     = 64
	defaultClockSkew  = 5 * time.Minute
	maxSignatureBytes = 1 << 10
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

// SignedPart is an element a verified signature covers.
type SignedPart struct {
	// Name is the element's namespace URI and local name.
	Name xml.Name
	// ID is the Id the signature referenced it by.
	ID string
}

// verification is what one verified signature proved.
type verification struct {
	signer  *ringEntry        // nil when the signer was accepted through SignerRoots
	cert    *x509.Certificate // the signing certificate
	covered []*etree.Element  // the referenced elements, in the tree verified
	ids     []string          // their Ids, in the same order
}

// verifier checks the signatures of one tree (the message as received, or
// as decrypted).
type verifier struct {
	pol      *compiled
	trust    *ringSnapshot
	env      *soap.Envelope
	ids      soap.IDs
	security *etree.Element
	now      time.Time
}

func sigError(format string, args ...any) error {
	return &SignatureError{Reason: sprintf(format, args...), Err: ErrSignatureInvalid}
}

// verify checks one ds:Signature: algorithms first, then the signer, then
// every reference's digest, then the signature value.
func (v *verifier) verify(sig *etree.Element) (*verification, error) {
	var signedInfo, value, keyInfo *etree.Element
	for _, c := range sig.ChildElements() {
		switch {
		case soap.Is(c, soap.NSDS, "SignedInfo") && signedInfo == nil:
			signedInfo = c
		case soap.Is(c, soap.NSDS, "SignatureValue") && value == nil:
			value = c
		case soap.Is(c, soap.NSDS, "KeyInfo") && keyInfo == nil:
			keyInfo = c
		case soap.Is(c, soap.NSDS, "Object"):
		default:
			return nil, malformed("unexpected %s in Signature", c.FullTag())
		}
	}
	if signedInfo == nil || value == nil {
		return nil, malformed("Signature without SignedInfo or SignatureValue")
	}
	c14n, method, refs, err := v.parseSignedInfo(signedInfo)
	if err != nil {
		return nil, err
	}
	sigBytes, err := decodeText(value, encodingBase64)
	if err != nil || len(sigBytes) == 0 || len(sigBytes) > maxSignatureBytes {
		return nil, malformed("invalid SignatureValue")
	}

	// The signer: a certificate of the trust ring, or one the message
	// carries that chains to SignerRoots.
	keyRefsFound, err := keyRefs(keyInfo, v.ids, v.security)
	if err != nil {
		return nil, err
	}
	var cands []*ringEntry
	if len(keyRefsFound) > 0 {
		if cands, err = v.trust.candidates(keyRefsFound); err != nil {
			return nil, err
		}
	}
	var rootCert *x509.Certificate
	if len(cands) == 0 {
		rootCert = v.fromRoots(keyRefsFound)
		if rootCert == nil {
			return nil, &SignatureError{Reason: "the signing certificate is not trusted", Err: ErrUntrustedSigner}
		}
	}

	res := &verification{}
	for _, r := range refs {
		canon, err := canonicalize(r.el, r.c14n, r.prefixes)
		if err != nil {
			return nil, sigError("cannot canonicalize a referenced element")
		}
		h := r.digest.New()
		h.Write(canon)
		if subtle.ConstantTimeCompare(h.Sum(nil), r.value) != 1 {
			return nil, sigError("the digest of %q does not match", r.uri)
		}
		res.covered = append(res.covered, r.el)
		res.ids = append(res.ids, r.uri[1:])
	}
	canon, err := canonicalize(signedInfo, c14n.alg, c14n.prefixes)
	if err != nil {
		return nil, sigError("cannot canonicalize SignedInfo")
	}
	h := method.hash.New()
	h.Write(canon)
	digest := h.Sum(nil)
	if rootCert != nil {
		if !checkSignature(rootCert.PublicKey, method, digest, sigBytes) {
			return nil, sigError("the signature value does not verify")
		}
		res.cert = rootCert
		return res, nil
	}
	for _, e := range cands {
		if checkSignature(e.key.Certificate.PublicKey, method, digest, sigBytes) {
			res.signer, res.cert = e, e.key.Certificate
			return res, nil
		}
	}
	return nil, sigError("the signature value does not verify")
}

// fromRoots returns a certificate carried by the message that chains to
// the policy's SignerRoots, or nil.
func (v *verifier) fromRoots(refs []keyRef) *x509.Certificate {
	if v.pol.signerRoots == nil {
		return nil
	}
	for _, r := range refs {
		if r.kind != refCertificate {
			continue
		}
		c, err := x509.ParseCertificate(r.data)
		if err != nil {
			continue
		}
		if _, err := validateSigner(c); err != nil {
			continue
		}
		opts := x509.VerifyOptions{Roots: v.pol.signerRoots, CurrentTime: v.now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := c.Verify(opts); err == nil {
			return c
		}
	}
	return nil
}

func checkSignature(pub any, m sigMethod, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return !m.ecdsa && rsa.VerifyPKCS1v15(k, m.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		// XML Signature writes r ‖ s, each the size of the curve order.
		n := (k.Curve.Params().BitSize + 7) / 8
		if !m.ecdsa || len(sig) != 2*n {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
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
		case soap.Is(c, soap.NSDS, "CanonicalizationMethod") && !sawC14N:
			m, err := v.c14nOf(c)
			if err != nil {
				return c14n, method, nil, err
			}
			c14n, sawC14N = m, true
		case soap.Is(c, soap.NSDS, "SignatureMethod") && !sawMethod:
			alg := strings.TrimSpace(c.SelectAttrValue("Algorithm", ""))
			m, ok := sigMethods[alg]
			if !ok || (m.hash == crypto.SHA1 && !v.pol.allowSHA1) {
				return c14n, method, nil, algorithmError(alg)
			}
			method, sawMethod = m, true
		case soap.Is(c, soap.NSDS, "Reference"):
			if len(refs) == maxReferences {
				return c14n, method, nil, &LimitError{Limit: "signature references", Max: maxReferences}
			}
			r, err := v.parseReference(c, si)
			if err != nil {
				return c14n, method, nil, err
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
			if c.Tag == "InclusiveNamespaces" && soap.NamespaceOf(c) == algExcC14N {
				m.prefixes = c.SelectAttrValue("PrefixList", "")
			}
		}
		return m, nil
	case algC14N10, algC14N11:
		return c14nMethod{alg: alg}, nil
	}
	return c14nMethod{}, algorithmError(alg)
}

func (v *verifier) parseReference(ref, signedInfo *etree.Element) (reference, error) {
	r := reference{uri: strings.TrimSpace(ref.SelectAttrValue("URI", "")), c14n: algC14N10}
	el, ok := v.ids.Resolve(r.uri)
	if !ok {
		// Like a dangling DataReference: decided from the message alone.
		return r, malformed("signature reference %q does not resolve to an element of the message", r.uri)
	}
	// A reference to an element holding this signature would need the
	// enveloped-signature transform, which WS-Security does not use.
	if soap.Within(signedInfo, el) {
		return r, sigError("reference %q encloses the signature", r.uri)
	}
	r.el = el
	var sawDigest bool
	for _, c := range ref.ChildElements() {
		switch {
		case soap.Is(c, soap.NSDS, "Transforms"):
			for _, t := range c.ChildElements() {
				if !soap.Is(t, soap.NSDS, "Transform") {
					return r, malformed("unexpected %s in Transforms", t.FullTag())
				}
				m, err := v.c14nOf(t)
				if err != nil {
					return r, err
				}
				r.c14n, r.prefixes = m.alg, m.prefixes
			}
		case soap.Is(c, soap.NSDS, "DigestMethod") && !sawDigest:
			alg := strings.TrimSpace(c.SelectAttrValue("Algorithm", ""))
			h, ok := xmlenc.LookupDigest(alg)
			if !ok || (h == crypto.SHA1 && !v.pol.allowSHA1) {
				return r, algorithmError(alg)
			}
			r.digest, sawDigest = h, true
		case soap.Is(c, soap.NSDS, "DigestValue"):
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

// canonicalize writes el, with the namespaces in scope where it stands,
// in the given canonical form, reading the tree as it is (no copy, no
// limit on the number of elements). An unknown alg means Canonical XML
// 1.0, as c14nOf admits no other. The tree is not modified.
func canonicalize(el *etree.Element, alg, prefixes string) ([]byte, error) {
	m, ok := c14n.MethodFor(alg)
	if !ok {
		m = c14n.Method{}
	}
	var b bytes.Buffer
	if _, err := c14n.Canonicalize(&b, el, c14n.Options{Method: m, InclusivePrefixes: prefixes}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// timestamp returns the Created and Expires of the Security header's
// wsu:Timestamp, if there is one.
func timestamp(security *etree.Element) (el *etree.Element, created, expires time.Time, err error) {
	if security == nil {
		return nil, created, expires, nil
	}
	for _, c := range security.ChildElements() {
		if !soap.Is(c, soap.NSWSU, "Timestamp") {
			continue
		}
		if el != nil {
			return nil, created, expires, malformed("more than one Timestamp")
		}
		el = c
		for _, t := range c.ChildElements() {
			var dst *time.Time
			switch {
			case soap.Is(t, soap.NSWSU, "Created"):
				dst = &created
			case soap.Is(t, soap.NSWSU, "Expires"):
				dst = &expires
			default:
				continue
			}
			text, _ := soap.Text(t)
			v, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(text))
			if perr != nil {
				return nil, created, expires, malformed("invalid %s in Timestamp", t.Tag)
			}
			*dst = v
		}
	}
	return el, created, expires, nil
}

// partOf names an element a signature covered.
func partOf(el *etree.Element, id string) SignedPart {
	return SignedPart{Name: xml.Name{Space: soap.NamespaceOf(el), Local: el.Tag}, ID: id}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
