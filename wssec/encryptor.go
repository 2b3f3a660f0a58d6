package wssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// Encryptor encrypts SOAP messages for one recipient certificate, the way
// receivers such as WSS4J do: an EncryptedKey in the wsse:Security header
// with a ReferenceList, and EncryptedData in place of the Body's content.
// Go receivers use it to answer clients of this package, and tests use it
// to produce messages; the zero values of its fields are the recommended
// choices.
//
// An Encryptor is safe for concurrent use if its fields are not modified.
type Encryptor struct {
	// Certificate is the recipient's certificate; its key must be RSA.
	Certificate *x509.Certificate

	// KeyTransport is the key transport algorithm. If empty, RSAOAEP
	// (XML Encryption 1.1) with the OAEPDigest and MGF below.
	KeyTransport KeyTransport
	// OAEPDigest is the OAEP digest. If zero, SHA-256 for RSAOAEP and
	// SHA-1 for RSAOAEPMGF1P, the values most peers accept.
	OAEPDigest crypto.Hash
	// MGF is the hash of MGF1 for RSAOAEP. If zero, SHA-1 (the default
	// the specification gives, written implicitly). RSAOAEPMGF1P always
	// uses SHA-1.
	MGF crypto.Hash

	// DataEncryption is the data encryption algorithm. If empty, AES256GCM.
	DataEncryption DataEncryption

	// KeyIdentifier is how the EncryptedKey names the recipient's key.
	KeyIdentifier KeyIdentifier

	// EncryptElement encrypts each child element of the Body as an
	// Element, each into its own EncryptedData under one key. If false,
	// the Body's content is encrypted as one Content EncryptedData.
	EncryptElement bool

	// EncryptHeaders lists header blocks, by namespace URI and local name,
	// to encrypt as wsse11:EncryptedHeader under the same key.
	EncryptHeaders []xml.Name

	// EmbedEncryptedKey places an EncryptedKey inside each EncryptedData's
	// ds:KeyInfo instead of the Security header, as xmlsec-based senders
	// do; each EncryptedData then has a key of its own.
	EmbedEncryptedKey bool

	// Rand is the source of keys, IVs and Ids. If nil, crypto/rand.Reader.
	Rand io.Reader
}

func (e *Encryptor) rand() io.Reader {
	if e.Rand != nil {
		return e.Rand
	}
	return rand.Reader
}

// encryptLimits bound the envelopes an Encryptor accepts; they are the
// defaults of a zero Policy. The Encryptor writes the tree out again, so
// attribute values with literal line breaks leave it normalized.
var encryptLimits = xmlscan.Limits{
	MaxDepth:      defaultMaxDepth,
	MaxElements:   defaultMaxElements,
	MaxAttributes: defaultMaxAttributes,
	MaxNamespaces: defaultMaxNamespaces,
	MaxAttrValue:  defaultMaxAttributeBytes,
	MaxNameBytes:  maxNameBytes,

	AllowAttrBreaks: true,
}

// Encrypt encrypts the Body of envelope, a SOAP 1.1 or 1.2 envelope, and
// the header blocks named in EncryptHeaders, and returns the encrypted
// envelope. It does not modify envelope. It returns [ErrInvalidPolicy] for
// an invalid configuration, [ErrMalformed] for input that is not a SOAP
// envelope and [ErrLimitExceeded] for input beyond the default limits.
func (e *Encryptor) Encrypt(envelope []byte) ([]byte, error) {
	if e == nil || e.Certificate == nil {
		return nil, fmt.Errorf("%w: no recipient certificate", ErrInvalidPolicy)
	}
	pub, ok := e.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: recipient key is not RSA", ErrInvalidPolicy)
	}
	kt, oaep, err := e.keyTransport()
	if err != nil {
		return nil, err
	}
	de := e.DataEncryption
	if de == "" {
		de = AES256GCM
	}
	c, ok := xmlenc.LookupCipher(string(de))
	if !ok {
		return nil, fmt.Errorf("%w: unknown data encryption %q", ErrInvalidPolicy, string(de))
	}
	if int64(len(envelope)) > defaultMaxMessageBytes {
		return nil, limitError("MaxMessageBytes", defaultMaxMessageBytes)
	}
	tr, err := xmlscan.ParseTree(envelope, encryptLimits, nil)
	if err != nil {
		return nil, soapError(err)
	}
	env, err := soap.NewEnvelope(tr.Doc, tr.Names)
	if err != nil {
		return nil, soapError(err)
	}
	w := &encryption{e: e, env: env, pub: pub, kt: kt, oaep: oaep, de: string(de), cipher: c}
	if err := w.run(); err != nil {
		return nil, err
	}
	tr.Doc.WriteSettings = fidelity
	return tr.Doc.WriteToBytes()
}

// fidelity writes white space in attribute values and CR in text as
// character references, so that a reader gets back the values that were
// read, not their normalized forms.
var fidelity = etree.WriteSettings{CanonicalAttrVal: true, CanonicalText: true}

func (e *Encryptor) keyTransport() (string, xmlenc.OAEPParams, error) {
	kt := e.KeyTransport
	if kt == "" {
		kt = RSAOAEP
	}
	p := xmlenc.OAEPParams{Digest: e.OAEPDigest, MGF: crypto.SHA1}
	switch kt {
	case RSAOAEP:
		if p.Digest == 0 {
			p.Digest = crypto.SHA256
		}
		if e.MGF != 0 {
			p.MGF = e.MGF
		}
	case RSAOAEPMGF1P:
		if p.Digest == 0 {
			p.Digest = crypto.SHA1
		}
		if e.MGF != 0 && e.MGF != crypto.SHA1 {
			return "", p, fmt.Errorf("%w: %s always uses MGF1 with SHA-1", ErrInvalidPolicy, kt)
		}
	case RSA15:
		return string(kt), p, nil
	default:
		return "", p, fmt.Errorf("%w: unknown key transport %q", ErrInvalidPolicy, string(kt))
	}
	if xmlenc.DigestURI(p.Digest) == "" || xmlenc.MGFURI(p.MGF) == "" {
		return "", p, fmt.Errorf("%w: OAEP hash %v is not supported", ErrInvalidPolicy, p.Digest)
	}
	return string(kt), p, nil
}

// encryption is the state of one Encrypt call.
type encryption struct {
	e        *Encryptor
	env      *soap.Envelope
	pub      *rsa.PublicKey
	kt       string
	oaep     xmlenc.OAEPParams
	de       string
	cipher   xmlenc.Cipher
	security *etree.Element
	bstID    string
	bstAdded bool
}

// bstIndex is where the EncryptedKey goes in the Security header: first,
// or right after the BinarySecurityToken this step added.
func (w *encryption) bstIndex() int {
	if w.bstAdded {
		return firstElementIndex(w.security) + 1
	}
	return 0
}

type part struct {
	target *etree.Element // replaced by EncryptedData (Element) or emptied (Content)
	header bool
}

func (w *encryption) run() error {
	var parts []part
	for _, name := range w.e.EncryptHeaders {
		found := false
		if w.env.Header != nil {
			for _, h := range w.env.Header.ChildElements() {
				if w.env.Names.Is(h, name.Space, name.Local) {
					parts = append(parts, part{target: h, header: true})
					found = true
				}
			}
		}
		if !found {
			return malformed("no header block {%s}%s to encrypt", name.Space, name.Local)
		}
	}
	if w.e.EncryptElement {
		kids := w.env.Body.ChildElements()
		if len(kids) == 0 {
			return malformed("empty Body")
		}
		for _, k := range kids {
			parts = append(parts, part{target: k})
		}
	} else {
		parts = append(parts, part{target: w.env.Body})
	}
	if w.e.EmbedEncryptedKey {
		for _, p := range parts {
			cek, err := w.newKey()
			if err != nil {
				return err
			}
			ed, err := w.encryptPart(p, cek)
			if err != nil {
				return err
			}
			ek, err := w.encryptedKey(cek, nil)
			if err != nil {
				return err
			}
			ki := ed.FindElement("./KeyInfo")
			ki.AddChild(ek)
		}
		return nil
	}
	cek, err := w.newKey()
	if err != nil {
		return err
	}
	var refs []string
	var eds []*etree.Element
	for _, p := range parts {
		ed, err := w.encryptPart(p, cek)
		if err != nil {
			return err
		}
		refs = append(refs, ed.SelectAttrValue("Id", ""))
		eds = append(eds, ed)
	}
	ek, err := w.encryptedKey(cek, refs)
	if err != nil {
		return err
	}
	// Like WSS4J, put what this step adds before what the header already
	// holds (a Timestamp, a Signature): receivers process the header in
	// order, so a signature made before encrypting must come after the
	// EncryptedKey.
	w.securityHeader().InsertChildAt(w.bstIndex(), ek)
	ekID := ek.SelectAttrValue("Id", "")
	for _, ed := range eds {
		ki := ed.FindElement("./KeyInfo")
		str := ki.CreateElement("wsse:SecurityTokenReference")
		str.CreateAttr("xmlns:wsse", soap.NSWSSE)
		ref := str.CreateElement("wsse:Reference")
		ref.CreateAttr("URI", "#"+ekID)
	}
	return nil
}

func (w *encryption) newKey() ([]byte, error) {
	k := make([]byte, w.cipher.KeySize)
	if _, err := io.ReadFull(w.e.rand(), k); err != nil {
		return nil, fmt.Errorf("wssec: random: %w", err)
	}
	return k, nil
}

func (w *encryption) newID(prefix string) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(w.e.rand(), b); err != nil {
		return "", fmt.Errorf("wssec: random: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// securityHeader returns the Security header for the ultimate receiver,
// creating it, and the Header, on first use: a message whose keys all sit
// in the EncryptedData gets no empty Security header.
func (w *encryption) securityHeader() *etree.Element {
	if w.security != nil {
		return w.security
	}
	env := w.env
	if env.Header == nil {
		h := etree.NewElement(qualified(env.Root.Space, "Header"))
		env.Root.InsertChildAt(firstElementIndex(env.Root), h)
		env.Header = h
	}
	if secs := env.SecurityHeaders(""); len(secs) > 0 {
		w.security = secs[0]
		return w.security
	}
	s := etree.NewElement("wsse:Security")
	s.CreateAttr("xmlns:wsse", soap.NSWSSE)
	s.CreateAttr("xmlns:wsu", soap.NSWSU)
	env.Header.InsertChildAt(0, s)
	mu := "1"
	if env.NS == soap.NSSOAP12 {
		mu = "true"
	}
	if env.Root.Space != "" {
		s.CreateAttr(env.Root.Space+":mustUnderstand", mu)
	} else {
		s.CreateAttr("xmlns:soapenv", env.NS)
		s.CreateAttr("soapenv:mustUnderstand", mu)
	}
	w.security = s
	return s
}

func qualified(space, local string) string {
	if space == "" {
		return local
	}
	return space + ":" + local
}

func firstElementIndex(el *etree.Element) int {
	for i, t := range el.Child {
		if _, ok := t.(*etree.Element); ok {
			return i
		}
	}
	return len(el.Child)
}

// encryptPart encrypts one part in place and returns its EncryptedData,
// with an empty ds:KeyInfo for the caller to fill.
func (w *encryption) encryptPart(p part, cek []byte) (*etree.Element, error) {
	var plain bytes.Buffer
	settings := fidelity
	typ := xmlenc.TypeElement
	if p.target == w.env.Body {
		typ = xmlenc.TypeContent
		for _, t := range p.target.Child {
			t.WriteTo(&plain, &settings)
		}
	} else {
		p.target.WriteTo(&plain, &settings)
	}
	iv := make([]byte, w.cipher.IVSize)
	if _, err := io.ReadFull(w.e.rand(), iv); err != nil {
		return nil, fmt.Errorf("wssec: random: %w", err)
	}
	ct, err := xmlenc.EncryptData(w.de, cek, iv, plain.Bytes())
	if err != nil {
		return nil, err
	}
	id, err := w.newID("ED-")
	if err != nil {
		return nil, err
	}
	ed := etree.NewElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", soap.NSXENC)
	ed.CreateAttr("Id", id)
	ed.CreateAttr("Type", typ)
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", w.de)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", soap.NSDS)
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(ct))

	switch {
	case p.target == w.env.Body:
		for i := len(p.target.Child) - 1; i >= 0; i-- {
			p.target.RemoveChildAt(i)
		}
		p.target.AddChild(ed)
	case p.header:
		eh := etree.NewElement("wsse11:EncryptedHeader")
		eh.CreateAttr("xmlns:wsse11", soap.NSWSSE11)
		eh.CreateAttr("xmlns:wsu", soap.NSWSU)
		ehID, err := w.newID("EH-")
		if err != nil {
			return nil, err
		}
		eh.CreateAttr("wsu:Id", ehID)
		// The SOAP processing attributes stay visible on the wrapper
		// (WS-Security 1.1, 9.3), declared in their own namespace.
		for _, name := range []string{"mustUnderstand", "actor", "role", "relay"} {
			if v, ok := w.env.Names.Attr(p.target, w.env.NS, name); ok {
				eh.CreateAttr("xmlns:soapenv", w.env.NS)
				eh.CreateAttr("soapenv:"+name, v)
			}
		}
		eh.AddChild(ed)
		parent, idx := p.target.Parent(), p.target.Index()
		parent.RemoveChildAt(idx)
		parent.InsertChildAt(idx, eh)
	default:
		parent, idx := p.target.Parent(), p.target.Index()
		parent.RemoveChildAt(idx)
		parent.InsertChildAt(idx, ed)
	}
	return ed, nil
}
