package wssec

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/c14n"
	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
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

// PartLocation says where a signed element sits in the envelope that was
// verified. It is decided by identity in that tree, never by name.
type PartLocation int

// Locations of a signed part.
const (
	// LocationOther is any place not named below, such as an element
	// nested in a header block, or a Body-named element that is not the
	// envelope's Body.
	LocationOther PartLocation = iota
	// LocationBody is the envelope's own Body element.
	LocationBody
	// LocationInBody is an element inside the envelope's Body.
	LocationInBody
	// LocationTimestamp is the wsu:Timestamp of the processed Security
	// header.
	LocationTimestamp
	// LocationSecurityHeader is another child of the processed Security
	// header, such as a BinarySecurityToken.
	LocationSecurityHeader
	// LocationHeaderBlock is a header block: a child of the envelope's
	// Header.
	LocationHeaderBlock
)

// String returns the location's name.
func (l PartLocation) String() string {
	switch l {
	case LocationBody:
		return "Body"
	case LocationInBody:
		return "in Body"
	case LocationTimestamp:
		return "Security header Timestamp"
	case LocationSecurityHeader:
		return "in Security header"
	case LocationHeaderBlock:
		return "header block"
	}
	return "other"
}

// SignedPart is an element a verified signature covers.
type SignedPart struct {
	// Name is the element's namespace URI and local name.
	Name xml.Name
	// ID is the Id the signature referenced it by.
	ID string
	// Location is where the element sits in the envelope that was
	// verified. Only LocationBody is the envelope's Body: an element that
	// is merely named Body, elsewhere, is LocationOther.
	Location PartLocation
	// Path lists the local names from the Envelope down to the element,
	// separated by "/", for diagnostics.
	Path string
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
}

// canonBudget bounds the bytes canonicalized for one message, SignedInfo
// and references of all signatures together, and apart from them the
// bytes read to reach the elements canonicalized from the message's bytes
// (the same bound: reading costs about what writing does).
type canonBudget struct {
	left, max int64
	skipLeft  int64
}

// newCanonBudget allows three times the message plus 256 KiB: enough for
// the Body and, nested in it, its EncryptedData signed separately (as
// WSS4J does), with room for exclusive canonical form writing an end tag
// or a namespace declaration where the message had none; a message that
// asks for more digests the same content again and again.
func newCanonBudget(messageBytes int) *canonBudget {
	n := 3*int64(messageBytes) + 256<<10
	return &canonBudget{left: n, max: n, skipLeft: n}
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
		if soap.Is(el, soap.NSWSU, "Timestamp") && (v.security == nil || el.Parent() != v.security) {
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

// digest hashes el, with the namespaces in scope where it stands, in the
// given canonical form, reading the tree as it is (no copy, no limit on
// the number of elements) and streaming the canonical form into the hash
// (it is never held in memory), and charges what it wrote to the budget:
// output beyond what the budget has left stops the walk with a
// limit error. Any other error means el cannot be canonicalized. An
// unknown alg means Canonical XML 1.0, as c14nOf admits no other. The
// tree is not modified.
func (b *canonBudget) digest(hash crypto.Hash, el *etree.Element, alg, prefixes string) ([]byte, error) {
	m, ok := c14n.MethodFor(alg)
	if !ok {
		m = c14n.Method{}
	}
	opt := c14n.Options{Method: m, InclusivePrefixes: prefixes}
	if b != nil {
		// A canonical element is never empty, so nothing fits in none.
		if b.left <= 0 {
			return nil, limitError("canonicalized bytes", b.max)
		}
		opt.MaxBytes = b.left
	}
	h := hash.New()
	n, err := c14n.Canonicalize(h, el, opt)
	if errors.Is(err, c14n.ErrTooLarge) {
		b.left = 0
		return nil, limitError("canonicalized bytes", b.max)
	}
	if err != nil {
		return nil, err
	}
	if b != nil {
		b.left -= n
	}
	return h.Sum(nil), nil
}

// digestBytes is digest for the element el of the tree read from src,
// canonicalized from src in the exclusive method m. What it reads of src
// before el is charged to the budget with what it writes.
func (b *canonBudget) digestBytes(hash crypto.Hash, src []byte, n int, el *etree.Element, prefixes string, m c14n.Method) ([]byte, error) {
	opt := c14n.Options{Method: m, InclusivePrefixes: prefixes}
	if b != nil {
		if b.left <= 0 {
			return nil, limitError("canonicalized bytes", b.max)
		}
		opt.MaxBytes = b.left
	}
	qname := el.Tag
	if el.Space != "" {
		qname = el.Space + ":" + el.Tag
	}
	h := hash.New()
	var maxSkip int64
	if b != nil {
		if b.skipLeft <= 0 {
			return nil, limitError("canonicalized bytes", b.max)
		}
		maxSkip = b.skipLeft
	}
	written, skipped, err := c14n.CanonicalizeBytes(h, src, n, qname, opt, maxSkip)
	if errors.Is(err, c14n.ErrTooLarge) {
		b.left = 0
		return nil, limitError("canonicalized bytes", b.max)
	}
	if err != nil {
		return nil, err
	}
	if b != nil {
		b.left -= written
		b.skipLeft -= skipped
	}
	return h.Sum(nil), nil
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

// partOf names an element a signature covered and says where it sits in
// env, the tree that was verified, by identity.
func partOf(env *soap.Envelope, security, el *etree.Element, id string) SignedPart {
	sp := SignedPart{Name: xml.Name{Space: soap.NamespaceOf(el), Local: el.Tag}, ID: id}
	switch parent := el.Parent(); {
	case el == env.Body:
		sp.Location = LocationBody
	case soap.Within(el, env.Body):
		sp.Location = LocationInBody
	case security != nil && parent == security && soap.Is(el, soap.NSWSU, "Timestamp"):
		sp.Location = LocationTimestamp
	case security != nil && parent == security:
		sp.Location = LocationSecurityHeader
	case env.Header != nil && parent == env.Header:
		sp.Location = LocationHeaderBlock
	}
	var names []string
	for e := el; e != nil && e.Parent() != nil; e = e.Parent() { // not the document
		names = append(names, e.Tag)
	}
	slices.Reverse(names)
	sp.Path = strings.Join(names, "/")
	return sp
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
