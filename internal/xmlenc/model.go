package xmlenc

import (
	"encoding/base64"
	"strings"

	"github.com/beevik/etree"
)

// Namespaces of the elements this file reads.
const (
	nsXENC   = "http://www.w3.org/2001/04/xmlenc#"
	nsXENC11 = "http://www.w3.org/2009/xmlenc11#"
	nsDS     = "http://www.w3.org/2000/09/xmldsig#"
)

// Namespaces resolves the namespace URI of an element's name; the
// caller's resolver knows the tree (internal/soap.Names answers from the
// scanner's table). A nil Namespaces searches the element's ancestors
// for the declaration of its prefix.
type Namespaces interface {
	Of(el *etree.Element) string
}

func is(names Namespaces, el *etree.Element, ns, local string) bool {
	if el == nil || el.Tag != local {
		return false
	}
	if names == nil {
		return el.NamespaceURI() == ns
	}
	return names.Of(el) == ns
}

// IsEncryptedData reports whether el is an xenc:EncryptedData element,
// resolving its namespace with names (nil: by its ancestors).
func IsEncryptedData(names Namespaces, el *etree.Element) bool {
	return is(names, el, nsXENC, "EncryptedData")
}

// IsEncryptedKey reports whether el is an xenc:EncryptedKey element,
// resolving its namespace with names (nil: by its ancestors).
func IsEncryptedKey(names Namespaces, el *etree.Element) bool {
	return is(names, el, nsXENC, "EncryptedKey")
}

// IsReferenceList reports whether el is an xenc:ReferenceList element,
// resolving its namespace with names (nil: by its ancestors).
func IsReferenceList(names Namespaces, el *etree.Element) bool {
	return is(names, el, nsXENC, "ReferenceList")
}

// Method is a parsed xenc:EncryptionMethod.
type Method struct {
	Algorithm  string
	Digest     string // ds:DigestMethod Algorithm, "" if absent
	MGF        string // xenc11:MGF Algorithm, "" if absent
	OAEPParams []byte // decoded xenc:OAEPparams, nil if absent
}

// EncryptedKey is a parsed xenc:EncryptedKey.
type EncryptedKey struct {
	Element        *etree.Element
	ID             string
	Recipient      string
	CarriedKeyName string
	Method         Method
	KeyInfo        *etree.Element // ds:KeyInfo, nil if absent
	CipherValue    []byte
	// DataReferences are the URIs of the xenc:ReferenceList's
	// DataReference children, in order. KeyReferences are refused.
	DataReferences []string
}

// EncryptedData is a parsed xenc:EncryptedData. Its CipherValue is left
// encoded until the key is known, so that large payloads are decoded once.
type EncryptedData struct {
	Element     *etree.Element
	ID          string
	Type        string
	Method      Method
	KeyInfo     *etree.Element
	CipherValue *etree.Element
}

// Limits bound what an element may carry.
type Limits struct {
	MaxOAEPParams int // bytes of decoded OAEPparams
	MaxReferences int // DataReferences in one ReferenceList
	// CipherText, if set, maps the text of a CipherValue that stands for
	// content held elsewhere (a marker of a message skeleton) to that
	// content.
	CipherText func(text string) ([]byte, bool)
	// Names, if set, resolves the namespaces of the elements read; if
	// nil, each is resolved by searching its ancestors.
	Names Namespaces
}

// DecodeCipherValue decodes a CipherValue element, whose text may stand
// for content held elsewhere (see Limits.CipherText).
func DecodeCipherValue(el *etree.Element, lim Limits) ([]byte, error) {
	if lim.CipherText == nil {
		return DecodeBase64(el)
	}
	if len(el.Child) == 1 {
		if c, ok := el.Child[0].(*etree.CharData); ok {
			if raw, ok := lim.CipherText(c.Data); ok {
				return DecodeBase64Bytes(raw)
			}
		}
	}
	// Text split by comments: some parts may stand for content held
	// elsewhere.
	var text []byte
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.CharData:
			if raw, ok := lim.CipherText(c.Data); ok {
				text = append(text, raw...)
			} else {
				text = append(text, c.Data...)
			}
		case *etree.Element:
			return nil, modelf("element inside %s", el.Tag)
		}
	}
	return DecodeBase64Bytes(text)
}

// DecodeCipherValueInto is [DecodeCipherValue] decoding into dst's memory
// where the text is one run held elsewhere, small enough for a plain
// decode, and its decoding fits in cap(dst); anywhere else it allocates as
// DecodeCipherValue does. dst's contents are overwritten.
func DecodeCipherValueInto(dst []byte, el *etree.Element, lim Limits) ([]byte, error) {
	if lim.CipherText != nil && len(el.Child) == 1 {
		if c, ok := el.Child[0].(*etree.CharData); ok {
			if raw, ok := lim.CipherText(c.Data); ok {
				return decodeBase64Into(dst, raw)
			}
		}
	}
	return DecodeCipherValue(el, lim)
}

// decodeBase64Into is DecodeBase64Bytes into dst's memory where that
// fits and the text is below the sizes DecodeBase64Room decodes in
// halves or with a table. Text the standard decoder refuses (white space
// other than line breaks, or no base64) takes DecodeBase64Room's path,
// which compacts it or reports it.
func decodeBase64Into(dst, text []byte) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(text))
	if cap(dst) < n || twoWay(len(text), parallelMin) || len(text) >= fastDecodeMin {
		return DecodeBase64Bytes(text)
	}
	out := dst[:n]
	if n, err := base64.StdEncoding.Decode(out, text); err == nil {
		return out[:n], nil
	}
	return DecodeBase64Bytes(text)
}

// encryptedType holds what EncryptedKey and EncryptedData share, the
// EncryptedType of XML Encryption 1.1, 3.1.
type encryptedType struct {
	method      Method
	keyInfo     *etree.Element
	cipherValue *etree.Element
}

// parseEncryptedType reads the children of an EncryptedType element in
// order; children it does not know go to extra, which reports whether it
// took them.
func parseEncryptedType(el *etree.Element, lim Limits, extra func(c *etree.Element) (bool, error)) (encryptedType, error) {
	var et encryptedType
	sawMethod := false
	for c := range el.ChildElementsSeq() {
		switch {
		case is(lim.Names, c, nsXENC, "EncryptionMethod") && !sawMethod:
			m, err := parseMethod(c, lim)
			if err != nil {
				return et, err
			}
			et.method, sawMethod = m, true
		case is(lim.Names, c, nsDS, "KeyInfo") && et.keyInfo == nil:
			et.keyInfo = c
		case is(lim.Names, c, nsXENC, "CipherData") && et.cipherValue == nil:
			cv, err := cipherValue(c, lim)
			if err != nil {
				return et, err
			}
			et.cipherValue = cv
		case is(lim.Names, c, nsXENC, "EncryptionProperties"):
		default:
			took, err := extra(c)
			if err != nil {
				return et, err
			}
			if !took {
				return et, modelf("unexpected %s in %s", c.FullTag(), el.Tag)
			}
		}
	}
	// XML Encryption lets the algorithm be implied by context; no
	// WS-Security producer relies on that, and guessing it would let a
	// sender pick the algorithm the policy meant to refuse.
	if !sawMethod {
		return et, modelf("%s without EncryptionMethod", el.Tag)
	}
	if et.cipherValue == nil {
		return et, modelf("%s without CipherData", el.Tag)
	}
	return et, nil
}

// ParseEncryptedKey reads an xenc:EncryptedKey element.
func ParseEncryptedKey(el *etree.Element, lim Limits) (*EncryptedKey, error) {
	ek := &EncryptedKey{Element: el}
	ek.ID = el.SelectAttrValue("Id", "")
	ek.Recipient = el.SelectAttrValue("Recipient", "")
	et, err := parseEncryptedType(el, lim, func(c *etree.Element) (bool, error) {
		switch {
		case is(lim.Names, c, nsXENC, "ReferenceList") && ek.DataReferences == nil:
			refs, err := ParseReferenceList(c, lim)
			ek.DataReferences = refs
			return true, err
		case is(lim.Names, c, nsXENC, "CarriedKeyName"):
			ek.CarriedKeyName = strings.TrimSpace(c.Text())
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	ek.Method, ek.KeyInfo = et.method, et.keyInfo
	if ek.CipherValue, err = DecodeCipherValue(et.cipherValue, lim); err != nil {
		return nil, err
	}
	return ek, nil
}

// ParseReferenceList returns the URIs of a ReferenceList's DataReference
// children. A KeyReference is refused: this package does not unwrap keys
// with other keys.
func ParseReferenceList(el *etree.Element, lim Limits) ([]string, error) {
	refs := []string{}
	for c := range el.ChildElementsSeq() {
		switch {
		case is(lim.Names, c, nsXENC, "DataReference"):
			uri, ok := attr(c, "URI")
			if !ok {
				return nil, modelf("DataReference without URI")
			}
			refs = append(refs, uri)
			if lim.MaxReferences > 0 && len(refs) > lim.MaxReferences {
				return nil, &CountError{What: "DataReference", Max: lim.MaxReferences}
			}
		case is(lim.Names, c, nsXENC, "KeyReference"):
			return nil, modelf("KeyReference is not supported")
		default:
			return nil, modelf("unexpected %s in ReferenceList", c.FullTag())
		}
	}
	if len(refs) == 0 {
		return nil, modelf("empty ReferenceList")
	}
	return refs, nil
}

// ParseEncryptedData reads an xenc:EncryptedData element.
func ParseEncryptedData(el *etree.Element, lim Limits) (*EncryptedData, error) {
	ed := &EncryptedData{Element: el}
	ed.ID = el.SelectAttrValue("Id", "")
	ed.Type = strings.TrimSpace(el.SelectAttrValue("Type", ""))
	et, err := parseEncryptedType(el, lim, func(*etree.Element) (bool, error) { return false, nil })
	if err != nil {
		return nil, err
	}
	ed.Method, ed.KeyInfo, ed.CipherValue = et.method, et.keyInfo, et.cipherValue
	return ed, nil
}

func attr(el *etree.Element, name string) (string, bool) {
	for _, a := range el.Attr {
		if a.Space == "" && a.Key == name {
			return a.Value, true
		}
	}
	return "", false
}

func parseMethod(el *etree.Element, lim Limits) (Method, error) {
	alg, ok := attr(el, "Algorithm")
	if !ok || strings.TrimSpace(alg) == "" {
		return Method{}, modelf("EncryptionMethod without Algorithm")
	}
	m := Method{Algorithm: strings.TrimSpace(alg)}
	for c := range el.ChildElementsSeq() {
		switch {
		case is(lim.Names, c, nsDS, "DigestMethod") && m.Digest == "":
			m.Digest = strings.TrimSpace(c.SelectAttrValue("Algorithm", ""))
			if m.Digest == "" {
				return Method{}, modelf("DigestMethod without Algorithm")
			}
		case is(lim.Names, c, nsXENC11, "MGF") && m.MGF == "":
			m.MGF = strings.TrimSpace(c.SelectAttrValue("Algorithm", ""))
			if m.MGF == "" {
				return Method{}, modelf("MGF without Algorithm")
			}
		case is(lim.Names, c, nsXENC, "OAEPparams") && m.OAEPParams == nil:
			p, err := DecodeBase64(c)
			if err != nil {
				return Method{}, err
			}
			if lim.MaxOAEPParams > 0 && len(p) > lim.MaxOAEPParams {
				return Method{}, &CountError{What: "OAEPparams bytes", Max: lim.MaxOAEPParams}
			}
			m.OAEPParams = p
		case is(lim.Names, c, nsXENC, "KeySize"):
		default:
			// Unknown content of EncryptionMethod is refused rather than
			// ignored: it may carry a parameter we would silently drop.
			return Method{}, modelf("unexpected %s in EncryptionMethod", c.FullTag())
		}
	}
	return m, nil
}

// cipherValue returns the xenc:CipherValue inside a CipherData. A
// CipherReference is refused: it asks the decryptor to fetch data.
func cipherValue(cd *etree.Element, lim Limits) (*etree.Element, error) {
	var cv *etree.Element
	for c := range cd.ChildElementsSeq() {
		switch {
		case is(lim.Names, c, nsXENC, "CipherValue") && cv == nil:
			cv = c
		case is(lim.Names, c, nsXENC, "CipherReference"):
			return nil, modelf("CipherReference is not supported")
		default:
			return nil, modelf("unexpected %s in CipherData", c.FullTag())
		}
	}
	if cv == nil {
		return nil, modelf("CipherData without CipherValue")
	}
	return cv, nil
}

// DecodeBase64 decodes the text of el, ignoring the white space and line
// breaks producers put in base64, and comments between text nodes. Like
// every base64 decoding of the module, it goes through DecodeBase64Room
// (decodeBase64Into decodes itself only below the sizes that function
// decodes in halves or with a table).
func DecodeBase64(el *etree.Element) ([]byte, error) {
	var b []byte
	for _, t := range el.Child {
		switch c := t.(type) {
		case *etree.CharData:
			b = append(b, c.Data...)
		case *etree.Element:
			return nil, modelf("element inside %s", el.Tag)
		}
	}
	out, err := DecodeBase64Bytes(b)
	if err != nil {
		return nil, modelf("invalid base64 in %s", el.Tag)
	}
	return out, nil
}

// DecodeBase64Bytes decodes base64 text taken straight from a message. The
// standard decoder skips line breaks itself; other white space, which some
// producers indent with, takes a second pass.
func DecodeBase64Bytes(text []byte) ([]byte, error) {
	_, out, err := DecodeBase64Room(text, 0, 0)
	return out, err
}

// DecodeBase64Room is DecodeBase64Bytes into a buffer with head free bytes
// before the result and at least tail free bytes after it, so that a
// caller can later build its output around the decoded bytes in the same
// buffer. It returns the whole buffer and the decoded bytes, which start
// at buf[head].
func DecodeBase64Room(text []byte, head, tail int) (buf, out []byte, err error) {
	return decodeBase64Room(text, head, tail, parallelMin, decodePiece)
}

// decodeBase64Room is DecodeBase64Room, decoding on two goroutines from
// twoWayMin bytes on, unwrapped text in pieces of piece characters.
func decodeBase64Room(text []byte, head, tail, twoWayMin, piece int) (buf, out []byte, err error) {
	buf = make([]byte, head+base64.StdEncoding.DecodedLen(len(text))+tail)
	out = buf[head : len(buf)-tail]
	decode := base64.StdEncoding.Decode
	if halves := twoWay(len(text), twoWayMin); halves || len(text) >= fastDecodeMin {
		t := newPairTable()
		if halves {
			if n, ok := decodeTwoWay(t, out, text, piece); ok {
				return buf, out[:n], nil
			}
		}
		decode = t.decode
	}
	n, err := decode(out, text)
	if err == nil {
		return buf, out[:n], nil
	}
	compact := make([]byte, 0, len(text))
	for _, c := range text {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			compact = append(compact, c)
		}
	}
	n, err = decode(out, compact)
	if err != nil {
		return nil, nil, modelf("invalid base64")
	}
	return buf, out[:n], nil
}
