package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/wsrenew/wsrenew/internal/c14n"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

const (
	nsWSSE   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	nsWSU    = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsDS     = "http://www.w3.org/2000/09/xmldsig#"
	excC14N  = "http://www.w3.org/2001/10/xml-exc-c14n#"
	rsa256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	rsa1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	ecdsa256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	sha256D  = "http://www.w3.org/2001/04/xmlenc#sha256"
	sha1D    = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// signOpts says how the test signer signs. The zero value signs the Body
// and a Timestamp with rsa-sha256 and SHA-256 digests, referencing the
// signer by a BinarySecurityToken.
type signOpts struct {
	method, digest string
	issuerSerial   bool // reference the signer by X509IssuerSerial instead
	noTimestamp    bool
	created        time.Time // Timestamp Created; zero: t0
	ttl            time.Duration
	extra          []string // local names of more elements to sign (they get a wsu:Id)
	ids            []string // Ids, already in the message, of more elements to sign
	repeatBody     int      // reference the Body this many more times
}

// sign signs msg the way WS-Security senders do: a detached ds:Signature
// prepended to the Security header, with references by wsu:Id and
// exclusive canonicalization. It is a test helper; the vectors in
// testdata/signed come from WSS4J.
func sign(t testing.TB, msg []byte, signer testpki.Identity, o signOpts) []byte {
	t.Helper()
	if o.method == "" {
		o.method = rsa256
	}
	if o.digest == "" {
		o.digest = sha256D
	}
	if o.created.IsZero() {
		o.created = t0
	}
	if o.ttl == 0 {
		o.ttl = 5 * time.Minute
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		t.Fatal(err)
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
	setID := func(el *etree.Element, id string) {
		el.CreateAttr("xmlns:wsu", nsWSU)
		el.CreateAttr("wsu:Id", id)
	}
	targets := []*etree.Element{body}
	setID(body, "id-body")
	for i, name := range o.extra {
		el := doc.FindElement("//" + name)
		setID(el, fmt.Sprintf("id-extra-%d", i))
		targets = append(targets, el)
	}
	for _, id := range o.ids {
		el := doc.FindElement("//[@wsu:Id='" + id + "']")
		if el == nil {
			t.Fatalf("sign: no element with wsu:Id %q", id)
		}
		targets = append(targets, el)
	}
	for range o.repeatBody {
		targets = append(targets, body)
	}
	if !o.noTimestamp {
		ts := etree.NewElement("wsu:Timestamp")
		ts.CreateAttr("wsu:Id", "TS-1")
		ts.CreateElement("wsu:Created").SetText(o.created.UTC().Format("2006-01-02T15:04:05.000Z"))
		ts.CreateElement("wsu:Expires").SetText(o.created.Add(o.ttl).UTC().Format("2006-01-02T15:04:05.000Z"))
		sec.InsertChildAt(0, ts)
		targets = append(targets, ts)
	}
	sig := etree.NewElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", nsDS)
	si := sig.CreateElement("ds:SignedInfo")
	cm := si.CreateElement("ds:CanonicalizationMethod")
	cm.CreateAttr("Algorithm", excC14N)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", o.method)
	sv := sig.CreateElement("ds:SignatureValue")
	ki := sig.CreateElement("ds:KeyInfo")
	str := ki.CreateElement("wsse:SecurityTokenReference")
	if o.issuerSerial {
		is := str.CreateElement("ds:X509Data").CreateElement("ds:X509IssuerSerial")
		is.CreateElement("ds:X509IssuerName").SetText(signer.Certificate.Issuer.String())
		is.CreateElement("ds:X509SerialNumber").SetText(signer.Certificate.SerialNumber.String())
	} else {
		bst := etree.NewElement("wsse:BinarySecurityToken")
		bst.CreateAttr("EncodingType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary")
		bst.CreateAttr("ValueType", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3")
		bst.CreateAttr("wsu:Id", "X509-signer")
		bst.SetText(base64.StdEncoding.EncodeToString(signer.Certificate.Raw))
		sec.InsertChildAt(0, bst)
		ref := str.CreateElement("wsse:Reference")
		ref.CreateAttr("URI", "#X509-signer")
	}
	sec.InsertChildAt(0, sig)
	digestHash := map[string]crypto.Hash{sha256D: crypto.SHA256, sha1D: crypto.SHA1}[o.digest]
	for _, el := range targets {
		ref := si.CreateElement("ds:Reference")
		ref.CreateAttr("URI", "#"+el.SelectAttrValue("wsu:Id", ""))
		ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", excC14N)
		ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", o.digest)
		h := digestHash.New()
		h.Write(canonical(t, el))
		ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(h.Sum(nil)))
	}
	sigHash := map[string]crypto.Hash{rsa256: crypto.SHA256, rsa1: crypto.SHA1, ecdsa256: crypto.SHA256}[o.method]
	h := sigHash.New()
	h.Write(canonical(t, si))
	var value []byte
	var err error
	switch k := signer.Signer.(type) {
	case *rsa.PrivateKey:
		value, err = rsa.SignPKCS1v15(rand.Reader, k, sigHash, h.Sum(nil))
	case *ecdsa.PrivateKey:
		var r, s interface{ FillBytes([]byte) []byte }
		rr, ss, e := ecdsa.Sign(rand.Reader, k, h.Sum(nil))
		r, s, err = rr, ss, e
		value = make([]byte, 64)
		r.FillBytes(value[:32])
		s.FillBytes(value[32:])
	}
	if err != nil {
		t.Fatal(err)
	}
	sv.SetText(base64.StdEncoding.EncodeToString(value))
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// canonical returns el's exclusive canonical form as goxmldsig writes
// it, an implementation independent of ours. goxmldsig stops at 1,000
// elements; a larger element (the Body of the tag-dense benchmark
// messages) is canonicalized by internal/c14n, whose output is checked
// against xmlsec1's and Santuario's in its own tests.
func canonical(t testing.TB, el *etree.Element) []byte {
	t.Helper()
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		t.Fatal(err)
	}
	d, err := etreeutils.NSDetatch(ctx, el)
	if errors.Is(err, etreeutils.ErrTraversalLimit) {
		var b bytes.Buffer
		if _, err := c14n.Canonicalize(&b, el, c14n.Options{Method: c14n.Method{Exclusive: true}}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
