package wssec_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlscan"

	"github.com/wsrenew/wsrenew/wssec"
)

// documented lists every error Decrypt may return.
var documented = []error{
	wssec.ErrMalformed, wssec.ErrLimitExceeded, wssec.ErrAlgorithmNotAllowed,
	wssec.ErrNoMatchingKey, wssec.ErrNotEncrypted, wssec.ErrDecryptionFailed,
	wssec.ErrSignatureInvalid, wssec.ErrUntrustedSigner, wssec.ErrMessageExpired,
	wssec.ErrUnsignedFault,
}

// FuzzDecrypt checks that no input panics, hangs, or yields an error
// outside the documented set. The seed corpus holds messages of every
// layout the encryptor makes plus the committed files in
// testdata/fuzz/FuzzDecrypt.
func FuzzDecrypt(f *testing.F) {
	msg11, msg12 := readTestdata(f, "response11.xml"), readTestdata(f, "response12.xml")
	for _, e := range []wssec.Encryptor{
		{Certificate: oldID.Certificate},
		{Certificate: newID.Certificate, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES128CBC, KeyIdentifier: wssec.IdentifyByDirectReference},
		{Certificate: oldID.Certificate, KeyTransport: wssec.RSA15, DataEncryption: wssec.TripleDESCBC, KeyIdentifier: wssec.IdentifyBySKI, EncryptElement: true},
		{Certificate: newID.Certificate, EmbedEncryptedKey: true, KeyIdentifier: wssec.IdentifyByThumbprintSHA1},
		{Certificate: oldID.Certificate, EncryptHeaders: []xml.Name{{Space: "urn:example:orders", Local: "Session"}}, KeyIdentifier: wssec.IdentifyByX509Certificate},
	} {
		f.Add(encrypt(f, &e, msg11))
		f.Add(encrypt(f, &e, msg12))
	}
	f.Add(msg11)
	signed := sign(f, msg11, receiverID, signOpts{})
	f.Add(signed)
	f.Add(encrypt(f, &wssec.Encryptor{Certificate: newID.Certificate}, signed))
	f.Add(sign(f, encrypt(f, &wssec.Encryptor{Certificate: oldID.Certificate}, msg12), receiverID, signOpts{issuerSerial: true}))
	gcm := &wssec.Encryptor{Certificate: newID.Certificate}
	cbc := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES128CBC}
	f.Add(encryptInSecurity(f, encrypt(f, cbc, signed), "Signature", wssec.AES128CBC))
	f.Add(encryptInSecurity(f, encrypt(f, gcm, signed), "Timestamp", wssec.AES128GCM))
	f.Add(edit(f, signed, moveTimestamp))
	f.Add(encrypt(f, cbc, edit(f, signed, moveTimestamp)))
	f.Add(sign(f, msg11, receiverID, signOpts{repeatBody: 2, extra: []string{"Session"}}))
	fault := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>x</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	f.Add(fault)
	f.Add(sign(f, fault, receiverID, signOpts{}))
	f.Add(encrypt(f, gcm, fault))
	for _, m := range readsAsChecked(f) {
		f.Add(m.msg)
	}
	ring := twoKeyRing(f)
	strict := &wssec.Decryptor{Keys: ring}
	loose := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true, AllowTripleDES: true, AllowPlaintextBody: true, MaxKeyOperations: 2}}
	verifying := &wssec.Decryptor{Keys: ring, Signers: trustRing(f, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate),
		Policy: wssec.Policy{AllowPlaintextBody: true}}
	unsignedOK := &wssec.Decryptor{Keys: ring, Signers: trustRing(f, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate),
		Policy: wssec.Policy{AllowPlaintextBody: true, AllowUnsignedBody: true}}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := []*wssec.Decryptor{strict, loose, verifying, unsignedOK}[len(data)%4]
		res, err := d.Decrypt(data)
		if err == nil {
			if res == nil || len(res.Envelope) == 0 {
				t.Fatalf("Decrypt() = %v, nil; want a result", res)
			}
			// What it returns is a well-formed envelope again, and
			// encoding/xml and etree read it as the tree that was
			// checked.
			doc, _, err := xmlscan.Parse(res.Envelope, xmlscan.Limits{})
			if err != nil {
				t.Fatalf("Decrypt(%q) returned an envelope that does not parse: %v\n%s", data, err, res.Envelope)
			}
			if err := sameReading(res.Envelope); err != nil {
				t.Fatalf("Decrypt(%q): %v", data, err)
			}
			// With signatures required, a result has a verified Body; with
			// an unsigned Body allowed, it is never an unsigned Fault.
			if d == verifying && (!res.SignedBody() || len(res.Signers) == 0) {
				t.Fatalf("Decrypt(%q) succeeded without a signed Body", data)
			}
			if d == unsignedOK && !res.SignedBody() {
				env, err := soap.NewEnvelope(doc, nil)
				if err != nil {
					t.Fatalf("Decrypt(%q) returned no SOAP envelope: %v", data, err)
				}
				for _, c := range env.Body.ChildElements() {
					if env.Names.Is(c, env.NS, "Fault") {
						t.Fatalf("Decrypt(%q) returned an unsigned Fault", data)
					}
					break
				}
			}
			return
		}
		for _, want := range documented {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("Decrypt() error = %v, not a documented error", err)
	})
}

// sameReading reports how encoding/xml or etree read env otherwise than
// the tree the library checked (xmlscan.ParseTree and its namespace table, the reader Decrypt and the
// signature verifier use): element and attribute names by namespace URI,
// attribute values, character data. Comments and the XML declaration do
// not count.
func sameReading(env []byte) error {
	tr, err := xmlscan.ParseTree(env, xmlscan.Limits{}, nil)
	if err != nil {
		return fmt.Errorf("the envelope does not parse: %w", err)
	}
	checked := treeReading(tr.Doc.Root(), soap.NewNames(tr.Names))
	std, err := stdReading(env)
	if err != nil {
		return fmt.Errorf("encoding/xml cannot read the envelope: %w", err)
	}
	if d := firstDiff(checked, std); d != "" {
		return fmt.Errorf("encoding/xml reads the envelope otherwise than it was checked: %s", d)
	}
	et := etree.NewDocument()
	if err := et.ReadFromBytes(env); err != nil {
		return fmt.Errorf("etree cannot read the envelope: %w", err)
	}
	if d := firstDiff(checked, treeReading(et.Root(), soap.Names{})); d != "" {
		return fmt.Errorf("etree reads the envelope otherwise than it was checked: %s", d)
	}
	return nil
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("%q, not %q", b[i], a[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d items, not %d", len(b), len(a))
	}
	return ""
}

// attrItem writes an attribute as a reading item.
func attrItem(ns, local, value string) string { return "@{" + ns + "}" + local + "=" + value }

// treeReading lists el's subtree as reading items, with namespace URIs
// resolved by names.
func treeReading(el *etree.Element, names soap.Names) []string {
	var out []string
	var text strings.Builder
	flush := func() {
		if text.Len() > 0 {
			out = append(out, "text "+text.String())
			text.Reset()
		}
	}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		flush()
		out = append(out, "<{"+names.Of(e)+"}"+e.Tag)
		var attrs []string
		for i := range e.Attr {
			a := &e.Attr[i]
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				continue
			}
			attrs = append(attrs, attrItem(names.AttrNamespace(e, a), a.Key, a.Value))
		}
		slices.Sort(attrs)
		out = append(out, attrs...)
		for _, c := range e.Child {
			switch c := c.(type) {
			case *etree.Element:
				walk(c)
			case *etree.CharData:
				text.WriteString(c.Data)
			}
		}
		flush()
		out = append(out, ">")
	}
	walk(el)
	return out
}

// stdReading lists the root element of env as encoding/xml reads it.
func stdReading(env []byte) ([]string, error) {
	dec := xml.NewDecoder(bytes.NewReader(env))
	var out []string
	var text strings.Builder
	depth := 0
	flush := func() {
		if text.Len() > 0 {
			out = append(out, "text "+text.String())
			text.Reset()
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			flush()
			depth++
			out = append(out, "<{"+t.Name.Space+"}"+t.Name.Local)
			var attrs []string
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				attrs = append(attrs, attrItem(a.Name.Space, a.Name.Local, a.Value))
			}
			slices.Sort(attrs)
			out = append(out, attrs...)
		case xml.EndElement:
			flush()
			depth--
			out = append(out, ">")
		case xml.CharData:
			if depth > 0 {
				text.Write(t)
			}
		}
	}
}

type readCase struct {
	name string
	msg  []byte
}

// readsAsChecked are plaintext messages that some parser reads otherwise
// than XML says, each made from response11.xml.
func readsAsChecked(t testing.TB) []readCase {
	msg := readTestdata(t, "response11.xml")
	inHeader := func(block string) []byte {
		i := bytes.Index(msg, []byte("</soapenv:Header>"))
		return append(append(append([]byte(nil), msg[:i]...), block...), msg[i:]...)
	}
	return []readCase{
		{"plain", msg},
		{"character reference beyond U+10FFFF", inHeader(`<n:Note xmlns:n="urn:n">a&#x10000003C;b</n:Note>`)},
		{"decimal character reference beyond U+10FFFF", inHeader(`<n:Note xmlns:n="urn:n">a&#4294967356;b</n:Note>`)},
		{"literal tab in an attribute", inHeader("<n:Note xmlns:n=\"urn:n\" iban=\"DE89\t3704\"/>")},
		{"literal line feed in an attribute", inHeader("<n:Note xmlns:n=\"urn:n\" iban=\"DE89\n3704\"/>")},
		{"literal CR LF in an attribute", inHeader("<n:Note xmlns:n=\"urn:n\" iban=\"DE89\r\n3704\"/>")},
		{"white space by reference in an attribute", inHeader(`<n:Note xmlns:n="urn:n" iban="DE89&#9;&#10;&#13;3704"/>`)},
		{"CR in text", inHeader("<n:Note xmlns:n=\"urn:n\">a\r\nb\rc&#13;</n:Note>")},
		{"two encodings", append([]byte(`<?xml version="1.0" encoding="UTF-8" encoding="ISO-8859-1"?>`), bytes.TrimPrefix(msg, []byte(`<?xml version="1.0" encoding="UTF-8"?>`))...)},
	}
}

// TestDecrypt_readsAsChecked decrypts (with plaintext allowed) messages
// that parsers could read differently: each is refused as ErrMalformed or
// returned as bytes that encoding/xml and etree read as the tree that was
// checked.
func TestDecrypt_readsAsChecked(t *testing.T) {
	t.Parallel()
	d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: wssec.Policy{AllowPlaintextBody: true}}
	for _, tc := range readsAsChecked(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := d.Decrypt(tc.msg)
			if err != nil {
				if !errors.Is(err, wssec.ErrMalformed) {
					t.Fatalf("Decrypt(%s) error = %v, want nil or %v", tc.name, err, wssec.ErrMalformed)
				}
				return
			}
			if err := sameReading(res.Envelope); err != nil {
				t.Fatalf("Decrypt(%s): %v", tc.name, err)
			}
		})
	}
}
