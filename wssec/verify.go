package wssec

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/c14n"
	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
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
	// budget is what may still be canonicalized for this message, shared
	// by every verifier of one Decrypt call.
	budget *canonBudget
	// skel, when set, is the skeleton the tree was read from: text runs
	// it cut out are put back, for the time of a digest, into an element
	// that is canonicalized.
	skel *xmlscan.Skeleton
	// src, when set, holds the bytes the tree was read from (the
	// message, with any cut text runs in place): a reference in
	// exclusive canonical form is digested from them rather than from
	// the tree, and they are the bytes returned to the caller.
	src []byte
	// spliced, when set, maps the markers standing in the tree for
	// plaintexts spliced into src to the number of elements each holds.
	spliced map[string]int
	// opaque, when set, is an element whose content of opaqueElements
	// elements the tree leaves out: it is digested from src only.
	opaque         *etree.Element
	opaqueElements int
	// body, when set, is the Body's digest computed from src while it
	// was parsed, for a reference that asks for exactly that.
	body *bodyDigest
}

// checkedSig is a ds:Signature whose SignedInfo was read and whose
// SignatureValue verified over it, by a trusted signer. Its references
// are not yet resolved or digested.
type checkedSig struct {
	refs   []reference
	signer *ringEntry
	cert   *x509.Certificate
}

func sigError(format string, args ...any) error {
	return &MessageError{Err: ErrSignatureInvalid, Reason: sprintf(format, args...)}
}

// verify checks one ds:Signature in full: see check, then every
// reference's digest.
func (v *verifier) verify(sig *etree.Element) (*verification, error) {
	cs, err := v.check(sig)
	if err != nil {
		return nil, err
	}
	if _, err := v.resolve(cs, sig, false); err != nil {
		return nil, err
	}
	return v.digests(cs)
}

// check reads a ds:Signature and verifies its SignatureValue over
// SignedInfo: algorithms first, then the signer, then the signature. No
// reference is digested: until the SignatureValue verified, nothing in
// SignedInfo deserves the work (a message may name the Body 64 times).
func (v *verifier) check(sig *etree.Element) (*checkedSig, error) {
	signedInfo, value, keyInfo, err := sigChildren(v.env.Names, sig)
	if err != nil {
		return nil, err
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
	keyRefsFound, err := keyRefs(v.env.Names, keyInfo, v.ids, v.security)
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
			return nil, &MessageError{Err: ErrUntrustedSigner, Reason: "the signing certificate is not trusted"}
		}
	}

	digest, err := v.budget.digest(method.hash, signedInfo, c14n.alg, c14n.prefixes)
	if err != nil {
		if isLimit(err) {
			return nil, err
		}
		return nil, sigError("cannot canonicalize SignedInfo")
	}
	cs := &checkedSig{refs: refs}
	if rootCert != nil {
		if !checkSignature(rootCert.PublicKey, method, digest, sigBytes) {
			return nil, sigError("the signature value does not verify")
		}
		cs.cert = rootCert
		return cs, nil
	}
	for _, e := range cands {
		if checkSignature(e.key.Certificate.PublicKey, method, digest, sigBytes) {
			cs.signer, cs.cert = e, e.key.Certificate
			return cs, nil
		}
	}
	return nil, sigError("the signature value does not verify")
}

// sigChildren returns the SignedInfo, SignatureValue and KeyInfo of a
// ds:Signature, the first of each; keyInfo may be nil. Any child but
// these and ds:Object is an error, and so is a missing SignedInfo or
// SignatureValue.
func sigChildren(names soap.Names, sig *etree.Element) (signedInfo, value, keyInfo *etree.Element, err error) {
	for _, c := range sig.ChildElements() {
		switch {
		case names.Is(c, soap.NSDS, "SignedInfo") && signedInfo == nil:
			signedInfo = c
		case names.Is(c, soap.NSDS, "SignatureValue") && value == nil:
			value = c
		case names.Is(c, soap.NSDS, "KeyInfo") && keyInfo == nil:
			keyInfo = c
		case names.Is(c, soap.NSDS, "Object"):
		default:
			return nil, nil, nil, malformed("unexpected %s in Signature", c.FullTag())
		}
	}
	if signedInfo == nil || value == nil {
		return nil, nil, nil, malformed("Signature without SignedInfo or SignatureValue")
	}
	return signedInfo, value, keyInfo, nil
}

// resolve finds each reference's element in the verifier's tree and
// applies the rules on what a reference may name. With pending allowed,
// a reference that does not resolve (its element is still encrypted) is
// left for the decrypted tree and reported; otherwise it is an error.
func (v *verifier) resolve(cs *checkedSig, sig *etree.Element, pending bool) (bool, error) {
	seen := make(map[*etree.Element]bool, len(cs.refs))
	left := false
	for i := range cs.refs {
		r := &cs.refs[i]
		r.el = nil
		el, ok := v.ids.Resolve(r.uri)
		if !ok {
			if pending {
				left = true
				continue
			}
			// Like a dangling DataReference: decided from the message alone.
			return false, malformed("signature reference %q does not resolve to an element of the message", r.uri)
		}
		// A reference to an element holding this signature would need the
		// enveloped-signature transform, which WS-Security does not use.
		if soap.Within(sig, el) {
			return false, sigError("reference %q encloses the signature", r.uri)
		}
		// A Timestamp counts only as the processed Security header's own:
		// one moved into another header block would carry a signed but
		// expired validity past the freshness check.
		if v.env.Names.Is(el, soap.NSWSU, "Timestamp") && (v.security == nil || el.Parent() != v.security) {
			return false, sigError("reference %q names a Timestamp outside the Security header", r.uri)
		}
		if seen[el] {
			return false, malformed("two signature references name %q", r.uri)
		}
		seen[el] = true
		r.el = el
	}
	return left, nil
}

// digests checks every resolved reference's digest, within the message's
// canonicalization budget.
func (v *verifier) digests(cs *checkedSig) (*verification, error) {
	res := &verification{signer: cs.signer, cert: cs.cert}
	for _, r := range cs.refs {
		if r.el == nil {
			return nil, malformed("signature reference %q does not resolve to an element of the message", r.uri)
		}
		sum, err := v.digestRef(r)
		if errors.Is(err, errNeedTree) {
			return nil, err
		}
		if err != nil {
			if isLimit(err) {
				return nil, err
			}
			return nil, sigError("cannot canonicalize a referenced element")
		}
		if subtle.ConstantTimeCompare(sum, r.value) != 1 {
			return nil, sigError("the digest of %q does not match", r.uri)
		}
		res.covered = append(res.covered, r.el)
		res.ids = append(res.ids, r.uri[1:])
	}
	return res, nil
}

// digestRef digests a resolved reference: from v.src where it can be
// read there (an exclusive method), from the tree otherwise.
func (v *verifier) digestRef(r reference) ([]byte, error) {
	if m, ok := c14n.MethodFor(r.c14n); ok && m.Exclusive && v.src != nil {
		if n, ok := v.ordinal(r.el); ok {
			if v.body.fits(r.digest, m, r.prefixes, n, qualifiedName(r.el)) {
				return v.body.charge(v.budget)
			}
			return v.budget.digestBytes(r.digest, v.src, n, r.el, r.prefixes, m)
		}
	}
	if v.opaque != nil && soap.Within(v.opaque, r.el) {
		return nil, errNeedTree
	}
	restore := v.expand(r.el)
	defer restore()
	return v.budget.digest(r.digest, r.el, r.c14n, r.prefixes)
}

// ordinal returns el's place among the elements of the verifier's tree
// in document order, counting what the tree leaves out.
func (v *verifier) ordinal(el *etree.Element) (int, bool) {
	return ordinal(v.env.Root, el, v.spliced, v.opaque, v.opaqueElements)
}

// ordinal returns el's place among the elements of root's subtree in
// document order (root is 0), and false if el is not in it. A text
// child that is a key of spliced stands for that many elements, and the
// element opaque for itself and opaqueElements more.
func ordinal(root, el *etree.Element, spliced map[string]int, opaque *etree.Element, opaqueElements int) (int, bool) {
	type frame struct {
		e    *etree.Element
		next int
	}
	if root == nil {
		return 0, false
	}
	n := 0
	stack := []frame{{e: root}}
	if root == el {
		return 0, true
	}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next == len(f.e.Child) {
			stack = stack[:len(stack)-1]
			continue
		}
		c, ok := f.e.Child[f.next].(*etree.Element)
		f.next++
		if !ok {
			if cd, text := f.e.Child[f.next-1].(*etree.CharData); text && spliced != nil {
				n += spliced[cd.Data]
			}
			continue
		}
		n++
		if c == el {
			return n, true
		}
		if c == opaque {
			n += opaqueElements
		}
		stack = append(stack, frame{e: c})
	}
	return 0, false
}

// expand puts the text runs the skeleton cut out back into el's subtree,
// as the parser would have read them (line ends normalized; a cut run
// holds no reference), and returns the function that restores the
// markers. The tree is read once; only what a signature covers is
// expanded, for as long as its digest takes.
func (v *verifier) expand(el *etree.Element) (restore func()) {
	if v.skel == nil || v.skel.Cuts() == 0 {
		return func() {}
	}
	type saved struct {
		cd     *etree.CharData
		marker string
	}
	var undo []saved
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, t := range e.Child {
			switch c := t.(type) {
			case *etree.Element:
				walk(c)
			case *etree.CharData:
				if raw, _, ok := v.skel.Lookup(c.Data); ok {
					undo = append(undo, saved{c, c.Data})
					c.Data = normalizeNewlines(raw)
				}
			}
		}
	}
	walk(el)
	return func() {
		for _, s := range undo {
			s.cd.Data = s.marker
		}
	}
}

// normalizeNewlines returns text with CR LF and lone CR as LF, as an XML
// parser reads it (XML 1.0, 2.11).
func normalizeNewlines(raw []byte) string {
	if bytes.IndexByte(raw, '\r') < 0 {
		return string(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		switch {
		case raw[i] != '\r':
			out = append(out, raw[i])
		case i+1 < len(raw) && raw[i+1] == '\n':
		default:
			out = append(out, '\n')
		}
	}
	return string(out)
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

// timestamp returns the Created and Expires of the Security header's
// wsu:Timestamp, if there is one.
func timestamp(names soap.Names, security *etree.Element) (el *etree.Element, created, expires time.Time, err error) {
	if security == nil {
		return nil, created, expires, nil
	}
	for _, c := range security.ChildElements() {
		if !names.Is(c, soap.NSWSU, "Timestamp") {
			continue
		}
		if el != nil {
			return nil, created, expires, malformed("more than one Timestamp")
		}
		el = c
		for _, t := range c.ChildElements() {
			var dst *time.Time
			switch {
			case names.Is(t, soap.NSWSU, "Created"):
				dst = &created
			case names.Is(t, soap.NSWSU, "Expires"):
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

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
