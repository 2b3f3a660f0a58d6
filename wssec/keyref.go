package wssec

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
)

// WS-Security token profile identifiers.
const (
	valueTypeX509v3     = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	valueTypeSKI        = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509SubjectKeyIdentifier"
	valueTypeThumbprint = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#ThumbprintSHA1"
	encodingBase64      = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	encodingHex         = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#HexBinary"
)

// maxCertificateBytes bounds a certificate carried in a message.
const maxCertificateBytes = 64 << 10

// keyRefKind names a way a message identifies the key it was encrypted to.
type keyRefKind int

const (
	refIssuerSerial keyRefKind = iota + 1
	refSKI
	refThumbprintSHA1
	refCertificate
	refSubjectName
	refKeyName
	refKeyValue
	refX509Digest
)

// keyRef is one key reference found in a ds:KeyInfo.
type keyRef struct {
	kind    keyRefKind
	issuer  string
	serial  *big.Int
	data    []byte // SKI, thumbprint, certificate DER or modulus
	subject string
	name    string
	// digestAlg indexes x509DigestAlgorithms for refX509Digest.
	digestAlg int
}

// keyRefs collects the key references of an EncryptedKey's ds:KeyInfo.
// Constructs this package does not know are skipped, so that a KeyInfo
// with nothing usable leads to trial decryption, while a known construct
// that is broken is an error. names resolves namespaces in ki's tree, as
// for the other readers of this file.
func keyRefs(names soap.Names, ki *etree.Element, ids soap.IDs, security *etree.Element) ([]keyRef, error) {
	if ki == nil {
		return nil, nil
	}
	var refs []keyRef
	for c := range ki.ChildElementsSeq() {
		var (
			r   []keyRef
			err error
		)
		switch {
		case names.Is(c, soap.NSWSSE, "SecurityTokenReference"):
			r, err = strRefs(names, c, ids, security)
		case names.Is(c, soap.NSDS, "X509Data"):
			r, err = x509DataRefs(names, c)
		case names.Is(c, soap.NSDS, "KeyName"):
			name, _ := soap.Text(c)
			r = []keyRef{{kind: refKeyName, name: strings.TrimSpace(name)}}
		case names.Is(c, soap.NSDS, "KeyValue"):
			r, err = keyValueRefs(names, c)
		}
		if err != nil {
			return nil, err
		}
		refs = append(refs, r...)
	}
	return refs, nil
}

func strRefs(names soap.Names, str *etree.Element, ids soap.IDs, security *etree.Element) ([]keyRef, error) {
	var refs []keyRef
	for c := range str.ChildElementsSeq() {
		switch {
		case names.Is(c, soap.NSDS, "X509Data"):
			r, err := x509DataRefs(names, c)
			if err != nil {
				return nil, err
			}
			refs = append(refs, r...)
		case names.Is(c, soap.NSWSSE, "KeyIdentifier"):
			r, err := keyIdentifierRef(c)
			if err != nil {
				return nil, err
			}
			refs = append(refs, r)
		case names.Is(c, soap.NSWSSE, "Reference"):
			r, err := tokenReference(names, c, ids, security)
			if err != nil {
				return nil, err
			}
			refs = append(refs, r)
		case names.Is(c, soap.NSWSSE, "Embedded"):
			for t := range c.ChildElementsSeq() {
				if names.Is(t, soap.NSWSSE, "BinarySecurityToken") {
					r, err := bstRef(t)
					if err != nil {
						return nil, err
					}
					refs = append(refs, r)
				}
			}
		}
	}
	return refs, nil
}

func x509DataRefs(names soap.Names, xd *etree.Element) ([]keyRef, error) {
	var refs []keyRef
	for c := range xd.ChildElementsSeq() {
		switch {
		case names.Is(c, soap.NSDS, "X509IssuerSerial"):
			r, err := issuerSerialRef(names, c)
			if err != nil {
				return nil, err
			}
			refs = append(refs, r)
		case names.Is(c, soap.NSDS, "X509SKI"):
			b, err := decodeText(c, encodingBase64)
			if err != nil || len(b) == 0 {
				return nil, malformed("invalid X509SKI")
			}
			refs = append(refs, keyRef{kind: refSKI, data: b})
		case names.Is(c, soap.NSDS, "X509Certificate"):
			b, err := decodeText(c, encodingBase64)
			if err != nil || len(b) == 0 || len(b) > maxCertificateBytes {
				return nil, malformed("invalid X509Certificate")
			}
			refs = append(refs, keyRef{kind: refCertificate, data: b})
		case names.Is(c, soap.NSDS, "X509SubjectName"):
			s, _ := soap.Text(c)
			refs = append(refs, keyRef{kind: refSubjectName, subject: strings.TrimSpace(s)})
		case names.Is(c, nsDSIG11, "X509Digest"):
			r, err := x509DigestRef(c)
			if err != nil {
				return nil, err
			}
			refs = append(refs, r)
		}
	}
	return refs, nil
}

func issuerSerialRef(names soap.Names, is *etree.Element) (keyRef, error) {
	var name, serial string
	var sawName, sawSerial bool
	for c := range is.ChildElementsSeq() {
		switch {
		case names.Is(c, soap.NSDS, "X509IssuerName") && !sawName:
			name, _ = soap.Text(c)
			sawName = true
		case names.Is(c, soap.NSDS, "X509SerialNumber") && !sawSerial:
			serial, _ = soap.Text(c)
			sawSerial = true
		}
	}
	if !sawName || !sawSerial {
		return keyRef{}, malformed("X509IssuerSerial without name or serial number")
	}
	n, ok := new(big.Int).SetString(strings.TrimSpace(serial), 10)
	if !ok || len(serial) > 200 {
		return keyRef{}, malformed("invalid X509SerialNumber")
	}
	return keyRef{kind: refIssuerSerial, issuer: strings.TrimSpace(name), serial: n}, nil
}

func keyIdentifierRef(ki *etree.Element) (keyRef, error) {
	vt := strings.TrimSpace(ki.SelectAttrValue("ValueType", ""))
	enc := strings.TrimSpace(ki.SelectAttrValue("EncodingType", ""))
	b, err := decodeText(ki, enc)
	if err != nil || len(b) == 0 {
		return keyRef{}, malformed("invalid KeyIdentifier value")
	}
	switch vt {
	case valueTypeSKI:
		return keyRef{kind: refSKI, data: b}, nil
	case valueTypeThumbprint:
		if len(b) != sha1.Size {
			return keyRef{}, malformed("ThumbprintSHA1 of %d bytes", len(b))
		}
		return keyRef{kind: refThumbprintSHA1, data: b}, nil
	case valueTypeX509v3:
		if len(b) > maxCertificateBytes {
			return keyRef{}, malformed("certificate too large")
		}
		return keyRef{kind: refCertificate, data: b}, nil
	}
	return keyRef{}, malformed("KeyIdentifier ValueType %q is not supported", vt)
}

// tokenReference resolves a wsse:Reference to a BinarySecurityToken of the
// Security header being processed.
func tokenReference(names soap.Names, ref *etree.Element, ids soap.IDs, security *etree.Element) (keyRef, error) {
	uri := strings.TrimSpace(ref.SelectAttrValue("URI", ""))
	el, ok := ids.Resolve(uri)
	if !ok {
		return keyRef{}, malformed("Reference %q does not resolve to a token in the message", uri)
	}
	if !names.Is(el, soap.NSWSSE, "BinarySecurityToken") || security == nil || el.Parent() != security {
		return keyRef{}, malformed("Reference %q is not a BinarySecurityToken of the Security header", uri)
	}
	return bstRef(el)
}

func bstRef(bst *etree.Element) (keyRef, error) {
	if vt := strings.TrimSpace(bst.SelectAttrValue("ValueType", "")); vt != valueTypeX509v3 {
		return keyRef{}, malformed("BinarySecurityToken ValueType %q is not supported", vt)
	}
	b, err := decodeText(bst, strings.TrimSpace(bst.SelectAttrValue("EncodingType", "")))
	if err != nil || len(b) == 0 || len(b) > maxCertificateBytes {
		return keyRef{}, malformed("invalid BinarySecurityToken")
	}
	return keyRef{kind: refCertificate, data: b}, nil
}

func keyValueRefs(names soap.Names, kv *etree.Element) ([]keyRef, error) {
	for c := range kv.ChildElementsSeq() {
		if !names.Is(c, soap.NSDS, "RSAKeyValue") {
			continue
		}
		for m := range c.ChildElementsSeq() {
			if names.Is(m, soap.NSDS, "Modulus") {
				b, err := decodeText(m, encodingBase64)
				if err != nil || len(b) == 0 || len(b) > 2048 {
					return nil, malformed("invalid RSAKeyValue Modulus")
				}
				return []keyRef{{kind: refKeyValue, data: bytes.TrimLeft(b, "\x00")}}, nil
			}
		}
		return nil, malformed("RSAKeyValue without Modulus")
	}
	return nil, nil
}

func decodeText(el *etree.Element, encoding string) ([]byte, error) {
	s, ok := soap.Text(el)
	if !ok {
		return nil, malformed("element inside %s", el.Tag)
	}
	switch encoding {
	case "", encodingBase64:
		return xmlenc.DecodeBase64Bytes([]byte(s))
	case encodingHex:
		return hex.DecodeString(strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s))
	}
	return nil, malformed("EncodingType %q is not supported", encoding)
}

// candidates returns the ring entries the references name, in ring order
// (current first), each once.
func (s *ringSnapshot) candidates(refs []keyRef) ([]*ringEntry, error) {
	var found []*ringEntry
	for _, r := range refs {
		var es []*ringEntry
		switch r.kind {
		case refIssuerSerial:
			fwd, rev, err := s.canonicalDNStrings(r.issuer)
			if err != nil {
				return nil, malformed("invalid X509IssuerName")
			}
			for _, e := range s.bySerial[r.serial.String()] {
				if iss := s.issuerOf[e]; iss == fwd || iss == rev {
					es = append(es, e)
				}
			}
		case refSKI:
			es = s.bySKI[string(r.data)]
		case refThumbprintSHA1:
			es = s.bySHA1[[sha1.Size]byte(r.data)]
		case refCertificate:
			if e, ok := s.bySHA256[sha256.Sum256(r.data)]; ok {
				es = []*ringEntry{e}
			} else if c, err := x509.ParseCertificate(r.data); err == nil {
				// Another certificate for one of our keys, such as a
				// re-issued one: the key is what matters.
				if pub, ok := c.PublicKey.(*rsa.PublicKey); ok {
					es = s.byModulus[sha256.Sum256(pub.N.Bytes())]
				}
			}
		case refSubjectName:
			fwd, rev, err := s.canonicalDNStrings(r.subject)
			if err != nil {
				return nil, malformed("invalid X509SubjectName")
			}
			es = append(append(es, s.bySubject[fwd]...), s.bySubject[rev]...)
		case refKeyName:
			es = s.byName[r.name]
		case refKeyValue:
			es = s.byModulus[sha256.Sum256(r.data)]
		case refX509Digest:
			es = s.byX509Digest[x509DigestKey(r.digestAlg, r.data)]
		}
		found = append(found, es...)
	}
	return s.inRingOrder(found), nil
}

// inRingOrder returns the entries of found in ring order, each once.
func (s *ringSnapshot) inRingOrder(found []*ringEntry) []*ringEntry {
	if len(found) == 0 {
		return nil
	}
	if len(found) == 1 {
		return found
	}
	// A reference names one key or a few: comparing is cheaper than a map
	// until the lists grow.
	var in func(e *ringEntry) bool
	if len(found)*len(s.entries) <= 256 {
		in = func(e *ringEntry) bool { return slices.Contains(found, e) }
	} else {
		set := make(map[*ringEntry]bool, len(found))
		for _, e := range found {
			set[e] = true
		}
		in = func(e *ringEntry) bool { return set[e] }
	}
	out := make([]*ringEntry, 0, len(found))
	for _, e := range s.entries {
		if in(e) {
			out = append(out, e)
		}
	}
	return out
}

// maxRefText bounds a name quoted from a message in an error.
const maxRefText = 200

// public returns the reference as the sender wrote it, for
// [KeyError] for [ErrNoMatchingKey]. Names are cut to maxRefText bytes.
func (r keyRef) public() KeyReference {
	cut := func(s string) string {
		if len(s) > maxRefText {
			return strings.ToValidUTF8(s[:maxRefText], "") + "…"
		}
		return s
	}
	switch r.kind {
	case refIssuerSerial:
		return KeyReference{Kind: "X509IssuerSerial", Value: cut(r.issuer) + ", serial " + r.serial.String()}
	case refSKI:
		return KeyReference{Kind: "X509SKI", Value: hex.EncodeToString(r.data)}
	case refThumbprintSHA1:
		return KeyReference{Kind: "ThumbprintSHA1", Value: hex.EncodeToString(r.data)}
	case refCertificate:
		fp := Fingerprint(sha256.Sum256(r.data))
		v := "SHA-256 " + fp.String()
		if c, err := x509.ParseCertificate(r.data); err == nil {
			v += ", subject " + cut(c.Subject.String()) + ", serial " + c.SerialNumber.String()
		}
		return KeyReference{Kind: "X509Certificate", Value: v, Fingerprint: fp}
	case refSubjectName:
		return KeyReference{Kind: "X509SubjectName", Value: cut(r.subject)}
	case refKeyName:
		return KeyReference{Kind: "KeyName", Value: cut(r.name)}
	case refKeyValue:
		h := sha256.Sum256(r.data)
		return KeyReference{Kind: "KeyValue", Value: fmt.Sprintf("modulus SHA-256 %x, %d bits", h[:8], new(big.Int).SetBytes(r.data).BitLen())}
	case refX509Digest:
		return KeyReference{Kind: "X509Digest", Value: x509DigestAlgorithms[r.digestAlg].uri + " " + hex.EncodeToString(r.data)}
	}
	return KeyReference{Kind: "unknown"}
}
