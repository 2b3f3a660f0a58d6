package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsDSig   = "http://www.w3.org/2000/09/xmldsig#"
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsExcC14 = "http://www.w3.org/2001/10/xml-exc-c14n#"

	x509TokenProfile = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#"
	wss11            = "http://docs.oasis-open.org/wss/oasis-wss-soap-message-security-1.1#"
)

// Algorithm URIs by the short names of the specs.
var (
	signatureMethods = map[string]string{
		"rsa-sha1":     nsDSig + "rsa-sha1",
		"rsa-sha256":   "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		"rsa-sha512":   "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
		"ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
	}
	digestMethods = map[string]string{
		"sha1":   nsDSig + "sha1",
		"sha256": nsXEnc + "sha256",
		"sha512": nsXEnc + "sha512",
	}
)

// facts is what a WSS4J message says about its signature, read back from
// the message rather than taken from the spec, so that a setting the tool
// ignored cannot go unnoticed.
type facts struct {
	headerOrder     []string // children of the wsse:Security header, by local name
	signatureMethod string
	digestMethod    string // the one DigestMethod all References use
	c14n            string
	keyID           string
	signed          []string // Reference targets: Body, Timestamp, EncryptedData or {ns}local
	bodyID          string   // the wsu:Id WSS4J gave the Body, if it is signed
	created         string
	expiresText     string
	expires         time.Time
	signatureValue  int // length of the decoded SignatureValue in octets
}

// message is a parsed vector.
type message struct {
	doc      *etree.Document
	env      *etree.Element
	soapNS   string
	security *etree.Element
	sig      *etree.Element
}

// parseMessage reads a vector with etree's own parser, not the library's
// scanner, so that the analysis is a second reading of what the tools
// wrote; its namespace lookups (etree's NamespaceURI) walk the ancestors.
func parseMessage(b []byte) (*message, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, err
	}
	m := &message{doc: doc, env: doc.Root()}
	if m.env == nil || m.env.Tag != "Envelope" {
		return nil, errors.New("no SOAP Envelope")
	}
	m.soapNS = m.env.NamespaceURI()
	if m.soapNS != nsSOAP11 && m.soapNS != nsSOAP12 {
		return nil, fmt.Errorf("unknown SOAP namespace %s", m.soapNS)
	}
	for _, h := range children(m.env, m.soapNS, "Header") {
		for _, s := range children(h, nsWSSE, "Security") {
			if m.security != nil {
				return nil, errors.New("more than one wsse:Security header")
			}
			m.security = s
		}
	}
	if m.security == nil {
		return nil, errors.New("no wsse:Security header")
	}
	sigs := children(m.security, nsDSig, "Signature")
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%d ds:Signature elements in the Security header", len(sigs))
	}
	m.sig = sigs[0]
	return m, nil
}

func children(el *etree.Element, ns, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func child(el *etree.Element, ns, local string) (*etree.Element, error) {
	cs := children(el, ns, local)
	if len(cs) != 1 {
		return nil, fmt.Errorf("%d %s elements in %s, want 1", len(cs), local, el.Tag)
	}
	return cs[0], nil
}

func algorithm(el *etree.Element, ns, local string) (string, error) {
	c, err := child(el, ns, local)
	if err != nil {
		return "", err
	}
	return c.SelectAttrValue("Algorithm", ""), nil
}

// byID finds the elements whose wsu:Id or unqualified Id is id.
func (m *message) byID(id string) []*etree.Element {
	var out []*etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		for _, a := range el.Attr {
			if a.Key != "Id" || a.Value != id {
				continue
			}
			if a.Space == "" || nsOf(el, a.Space) == nsWSU {
				out = append(out, el)
				break
			}
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(m.env)
	return out
}

// nsOf resolves a prefix in the scope of el.
func nsOf(el *etree.Element, prefix string) string {
	for e := el; e != nil; e = e.Parent() {
		for _, a := range e.Attr {
			if a.Space == "xmlns" && a.Key == prefix {
				return a.Value
			}
		}
	}
	return ""
}

func (m *message) partName(el *etree.Element) string {
	switch {
	case el.Tag == "Body" && el.NamespaceURI() == m.soapNS:
		return "Body"
	case el.Tag == "Timestamp" && el.NamespaceURI() == nsWSU:
		return "Timestamp"
	case el.Tag == "EncryptedData" && el.NamespaceURI() == nsXEnc:
		return "EncryptedData"
	}
	return "{" + el.NamespaceURI() + "}" + el.Tag
}

func (v *vector) analyse() error {
	b, err := os.ReadFile(vectorPath(v.name))
	if err != nil {
		return err
	}
	if v.spec.encSig {
		// The ds:Signature is encrypted: read it after decryption.
		if b, err = decryptForAnalysis(b, v.spec.encFor); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	f, err := analyse(b)
	if err != nil {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	v.facts = f
	return nil
}

// decryptForAnalysis decrypts a vector with the fixture key it was
// encrypted for, verifying nothing: the analysis reads what WSS4J wrote,
// and WSS4J's own engine judges the vector (crossCheck).
func decryptForAnalysis(b []byte, keyName string) ([]byte, error) {
	id := testpki.Load(keyName)
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(wssec.Key{Decrypter: id.Key, Certificate: id.Certificate})}
	res, err := d.Decrypt(b)
	if err != nil {
		return nil, fmt.Errorf("decrypt for analysis: %w", err)
	}
	return res.Envelope, nil
}

func analyse(b []byte) (facts, error) {
	var f facts
	m, err := parseMessage(b)
	if err != nil {
		return f, err
	}
	for _, c := range m.security.ChildElements() {
		f.headerOrder = append(f.headerOrder, c.Tag)
	}
	si, err := child(m.sig, nsDSig, "SignedInfo")
	if err != nil {
		return f, err
	}
	if f.c14n, err = algorithm(si, nsDSig, "CanonicalizationMethod"); err != nil {
		return f, err
	}
	if f.signatureMethod, err = algorithm(si, nsDSig, "SignatureMethod"); err != nil {
		return f, err
	}
	sv, err := child(m.sig, nsDSig, "SignatureValue")
	if err != nil {
		return f, err
	}
	f.signatureValue = len(decodeBase64(sv.Text()))
	for _, ref := range children(si, nsDSig, "Reference") {
		dm, err := algorithm(ref, nsDSig, "DigestMethod")
		if err != nil {
			return f, err
		}
		if f.digestMethod != "" && dm != f.digestMethod {
			return f, fmt.Errorf("References use %s and %s", f.digestMethod, dm)
		}
		f.digestMethod = dm
		uri := ref.SelectAttrValue("URI", "")
		id, ok := strings.CutPrefix(uri, "#")
		if !ok {
			return f, fmt.Errorf("Reference URI %q is not a same-document reference", uri)
		}
		targets := m.byID(id)
		if len(targets) != 1 {
			return f, fmt.Errorf("Reference URI %q matches %d elements", uri, len(targets))
		}
		name := m.partName(targets[0])
		f.signed = append(f.signed, name)
		if name == "Body" {
			f.bodyID = id
		}
	}
	ki, err := child(m.sig, nsDSig, "KeyInfo")
	if err != nil {
		return f, err
	}
	str, err := child(ki, nsWSSE, "SecurityTokenReference")
	if err != nil {
		return f, err
	}
	if f.keyID, err = keyIdentifier(str); err != nil {
		return f, err
	}
	if ts := children(m.security, nsWSU, "Timestamp"); len(ts) == 1 {
		c, err := child(ts[0], nsWSU, "Created")
		if err != nil {
			return f, err
		}
		f.created = c.Text()
		if e := children(ts[0], nsWSU, "Expires"); len(e) == 1 {
			f.expiresText = e[0].Text()
			if f.expires, err = time.Parse(time.RFC3339Nano, f.expiresText); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

func keyIdentifier(str *etree.Element) (string, error) {
	cs := str.ChildElements()
	if len(cs) != 1 {
		return "", fmt.Errorf("SecurityTokenReference has %d children", len(cs))
	}
	c := cs[0]
	switch {
	case c.Tag == "Reference" && c.NamespaceURI() == nsWSSE && c.SelectAttrValue("ValueType", "") == x509TokenProfile+"X509v3":
		return "bst", nil
	case c.Tag == "X509Data" && c.NamespaceURI() == nsDSig && len(children(c, nsDSig, "X509IssuerSerial")) == 1:
		return "issuerserial", nil
	case c.Tag == "KeyIdentifier" && c.NamespaceURI() == nsWSSE:
		switch vt := c.SelectAttrValue("ValueType", ""); vt {
		case x509TokenProfile + "X509SubjectKeyIdentifier":
			return "ski", nil
		case wss11 + "ThumbprintSHA1":
			return "thumbprint", nil
		case x509TokenProfile + "X509v3":
			return "x509", nil
		default:
			return "", fmt.Errorf("unknown KeyIdentifier ValueType %s", vt)
		}
	}
	return "", fmt.Errorf("unknown SecurityTokenReference child %s", c.Tag)
}

// check compares what the message says with what the spec asked for.
func (v *vector) check() error {
	s, f := v.spec, v.facts
	var bad []string
	if want := signatureMethods[s.sigAlg]; f.signatureMethod != want {
		bad = append(bad, fmt.Sprintf("signature method %s, want %s", f.signatureMethod, want))
	}
	if want := digestMethods[s.digest]; f.digestMethod != want {
		bad = append(bad, fmt.Sprintf("digest %s, want %s", f.digestMethod, want))
	}
	if f.c14n != nsExcC14 {
		bad = append(bad, "canonicalization "+f.c14n)
	}
	if f.keyID != s.keyID {
		bad = append(bad, fmt.Sprintf("key identifier %s, want %s", f.keyID, s.keyID))
	}
	want := s.parts
	if want == nil {
		want = []string{"Body", "Timestamp"}
		if s.noTimestamp {
			want = want[:1]
		}
	}
	if !slices.Equal(f.signed, want) {
		bad = append(bad, fmt.Sprintf("signed %v, want %v", f.signed, want))
	}
	// XML Signature's ECDSA value is r||s, 32 octets each for P-256, not DER.
	if s.sigAlg == "ecdsa-sha256" && f.signatureValue != 64 {
		bad = append(bad, fmt.Sprintf("ECDSA SignatureValue of %d octets", f.signatureValue))
	}
	if s.noTimestamp != (f.created == "") {
		bad = append(bad, "Timestamp presence")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %s", v.name, strings.Join(bad, "; "))
	}
	return nil
}
