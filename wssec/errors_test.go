package wssec_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/wssec"
)

// cipherValue returns the first CipherValue of an element named owner
// (EncryptedKey or EncryptedData).
func cipherValue(doc *etree.Document, owner string) *etree.Element {
	return doc.FindElement("//" + owner + "/CipherData/CipherValue")
}

// flip returns a function that flips one bit of the decoded content of the
// owner's CipherValue at byte position pos (negative: from the end).
func flip(owner string, pos int) func(doc *etree.Document) {
	return func(doc *etree.Document) {
		cv := cipherValue(doc, owner)
		b, _ := base64.StdEncoding.DecodeString(cv.Text())
		if pos < 0 {
			pos += len(b)
		}
		b[pos] ^= 0x01
		cv.SetText(base64.StdEncoding.EncodeToString(b))
	}
}

// TestDecrypt_tampered flips a byte in every position class of every
// CipherValue and expects the one uniform error.
func TestDecrypt_tampered(t *testing.T) {
	t.Parallel()
	msg := readTestdata(t, "response11.xml")
	type position struct {
		name  string
		owner string
		at    int
	}
	const ek, ed = "EncryptedKey", "EncryptedData"
	keyPositions := []position{{"key/first", ek, 0}, {"key/middle", ek, 100}, {"key/last", ek, -1}}
	cases := map[wssec.DataEncryption][]position{
		wssec.AES128GCM: {{"iv", ed, 0}, {"body", ed, 20}, {"tag/first", ed, -16}, {"tag/last", ed, -1}},
		wssec.AES256CBC: {{"iv", ed, 0}, {"first-block", ed, 16}, {"second-last-block", ed, -17}, {"pad-length", ed, -1}},
	}
	var texts = make(map[string]bool)
	for _, kt := range []wssec.KeyTransport{wssec.RSAOAEPMGF1P, wssec.RSA15} {
		for de, positions := range cases {
			for _, p := range append(positions, keyPositions...) {
				e := &wssec.Encryptor{Certificate: oldID.Certificate, KeyTransport: kt, DataEncryption: de}
				out := encrypt(t, e, msg)
				bad := edit(t, out, flip(p.owner, p.at))
				d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: permissive}
				_, err := d.Decrypt(bad)
				if err != wssec.ErrDecryptionFailed { //nolint:errorlint // the identical value is the property under test
					t.Errorf("Decrypt(%s/%s/%s) error = %v, want exactly %v", kt, de, p.name, err, wssec.ErrDecryptionFailed)
					continue
				}
				texts[err.Error()] = true
			}
		}
	}
	if len(texts) != 1 {
		t.Errorf("tampered messages gave %d different error texts, want 1: %v", len(texts), texts)
	}
}

func TestDecrypt_errors(t *testing.T) {
	t.Parallel()
	msg := readTestdata(t, "response11.xml")
	base := func(e wssec.Encryptor) []byte {
		if e.Certificate == nil {
			e.Certificate = oldID.Certificate
		}
		return encrypt(t, &e, msg)
	}
	def := base(wssec.Encryptor{})
	two := func(e wssec.Encryptor) []byte { // a Body with two child elements
		e.Certificate = oldID.Certificate
		return encrypt(t, &e, readTestdata(t, "response12.xml"))
	}
	cbc := base(wssec.Encryptor{DataEncryption: wssec.AES128CBC})
	deep := strings.Repeat("<x>", 150) + strings.Repeat("</x>", 150)

	tests := []struct {
		name    string
		msg     []byte
		policy  wssec.Policy
		wantErr error
	}{
		{"nil", nil, wssec.Policy{}, wssec.ErrMalformed},
		{"empty", []byte{}, wssec.Policy{}, wssec.ErrMalformed},
		{"not xml", []byte("hello"), wssec.Policy{}, wssec.ErrMalformed},
		{"not soap", []byte("<a/>"), wssec.Policy{}, wssec.ErrMalformed},
		{"no body", []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/></s:Envelope>`), wssec.Policy{}, wssec.ErrMalformed},
		{"two bodies", []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/><s:Body/></s:Envelope>`), wssec.Policy{}, wssec.ErrMalformed},
		{"unbound prefix", []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:a/></s:Body></s:Envelope>`), wssec.Policy{}, wssec.ErrMalformed},
		{"duplicate attribute", []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body a="1" a="2"/></s:Envelope>`), wssec.Policy{}, wssec.ErrMalformed},
		{"entity declaration", append([]byte(`<!DOCTYPE s:Envelope [<!ENTITY x "boom">]>`), def...), wssec.Policy{}, wssec.ErrMalformed},
		{"processing instruction", edit(t, def, func(d *etree.Document) { d.Root().CreateProcInst("evil", "x") }), wssec.Policy{}, wssec.ErrMalformed},
		{"undeclared entity", []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&x;</s:Body></s:Envelope>`), wssec.Policy{}, wssec.ErrMalformed},
		{"latin-1", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>`), wssec.Policy{}, wssec.ErrMalformed},
		{"plaintext body", msg, wssec.Policy{}, wssec.ErrNotEncrypted},
		{"plaintext body allowed", msg, wssec.Policy{AllowPlaintextBody: true}, nil},
		{"oversize", def, wssec.Policy{MaxMessageBytes: 100}, wssec.ErrLimitExceeded},
		{"deep nesting", edit(t, def, func(d *etree.Document) {
			x := etree.NewDocument()
			_ = x.ReadFromString(deep)
			find(d, "Session").AddChild(x.Root())
		}), wssec.Policy{}, wssec.ErrLimitExceeded},
		{"too many elements", def, wssec.Policy{MaxElements: 10}, wssec.ErrLimitExceeded},
		{"too many attributes", def, wssec.Policy{MaxAttributes: 3}, wssec.ErrLimitExceeded},
		{"too many namespaces", def, wssec.Policy{MaxNamespaces: 5}, wssec.ErrLimitExceeded},
		{"too many encrypted data", two(wssec.Encryptor{EncryptElement: true}), wssec.Policy{MaxEncryptedData: 1}, wssec.ErrLimitExceeded},
		{"too many key operations", two(wssec.Encryptor{EncryptElement: true, EmbedEncryptedKey: true}), wssec.Policy{MaxKeyOperations: 1}, wssec.ErrLimitExceeded},
		{"invalid base64", edit(t, def, func(d *etree.Document) {
			cv := cipherValue(d, "EncryptedData")
			cv.SetText(cv.Text()[:len(cv.Text())-3])
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"truncated ciphertext", edit(t, def, func(d *etree.Document) {
			cv := cipherValue(d, "EncryptedData")
			cv.SetText(cv.Text()[:len(cv.Text())-8])
		}), wssec.Policy{}, wssec.ErrDecryptionFailed},
		{"truncated to nothing", edit(t, cbc, func(d *etree.Document) { cipherValue(d, "EncryptedData").SetText("AAAA") }), wssec.Policy{}, wssec.ErrDecryptionFailed},
		{"truncated key", edit(t, def, func(d *etree.Document) {
			cv := cipherValue(d, "EncryptedKey")
			cv.SetText(cv.Text()[:len(cv.Text())-4])
		}), wssec.Policy{}, wssec.ErrDecryptionFailed},
		{"dangling reference", edit(t, def, func(d *etree.Document) { find(d, "DataReference").CreateAttr("URI", "#nowhere") }), wssec.Policy{}, wssec.ErrMalformed},
		{"external reference", edit(t, def, func(d *etree.Document) { find(d, "DataReference").CreateAttr("URI", "http://example.com/x") }), wssec.Policy{}, wssec.ErrMalformed},
		{"reference to body", edit(t, def, func(d *etree.Document) {
			find(d, "Body").CreateAttr("Id", "body")
			find(d, "DataReference").CreateAttr("URI", "#body")
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"same data twice", edit(t, def, func(d *etree.Document) {
			dr := find(d, "DataReference")
			dr.Parent().AddChild(dr.Copy())
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"duplicate Id", edit(t, def, func(d *etree.Document) {
			find(d, "Session").CreateAttr("Id", find(d, "EncryptedData").SelectAttrValue("Id", ""))
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"two security headers", edit(t, def, func(d *etree.Document) {
			s := find(d, "Security")
			s.Parent().AddChild(s.Copy())
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"key reference to a missing token", edit(t, base(wssec.Encryptor{KeyIdentifier: wssec.IdentifyByDirectReference}), func(d *etree.Document) {
			find(d, "EncryptedKey").FindElement(".//Reference").CreateAttr("URI", "#gone")
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"unsupported type", edit(t, def, func(d *etree.Document) { find(d, "EncryptedData").CreateAttr("Type", "urn:mime") }), wssec.Policy{}, wssec.ErrMalformed},
		{"no key for data", edit(t, def, func(d *etree.Document) {
			ek := find(d, "EncryptedKey")
			ek.RemoveChild(ek.SelectElement("ReferenceList"))
			ed := find(d, "EncryptedData")
			ed.RemoveChild(ed.SelectElement("KeyInfo"))
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"cipher reference", edit(t, def, func(d *etree.Document) {
			cd := find(d, "EncryptedData").SelectElement("CipherData")
			cd.RemoveChild(cd.SelectElement("CipherValue"))
			cd.CreateElement("xenc:CipherReference").CreateAttr("URI", "http://example.com/")
		}), wssec.Policy{}, wssec.ErrMalformed},
		{"unknown data algorithm", edit(t, def, func(d *etree.Document) {
			find(d, "EncryptedData").SelectElement("EncryptionMethod").CreateAttr("Algorithm", "urn:rot13")
		}), wssec.Policy{}, wssec.ErrAlgorithmNotAllowed},
		{"unknown key transport", edit(t, def, func(d *etree.Document) {
			find(d, "EncryptedKey").SelectElement("EncryptionMethod").CreateAttr("Algorithm", "urn:rsa-raw")
		}), wssec.Policy{}, wssec.ErrAlgorithmNotAllowed},
		{"unknown OAEP digest", edit(t, def, func(d *etree.Document) {
			find(d, "EncryptedKey").FindElement(".//DigestMethod").CreateAttr("Algorithm", "urn:md5")
		}), wssec.Policy{}, wssec.ErrAlgorithmNotAllowed},
		{"algorithm not in policy", def, wssec.Policy{DataEncryptions: []wssec.DataEncryption{wssec.AES128GCM}}, wssec.ErrAlgorithmNotAllowed},
		{"algorithm switching", edit(t, two(wssec.Encryptor{EncryptElement: true, DataEncryption: wssec.AES256GCM}), func(d *etree.Document) {
			find(d, "EncryptedData").SelectElement("EncryptionMethod").CreateAttr("Algorithm", string(wssec.AES256CBC))
		}), wssec.Policy{}, wssec.ErrAlgorithmNotAllowed},
		{"stranger by reference", encrypt(t, &wssec.Encryptor{Certificate: strangerID.Certificate}, msg), wssec.Policy{}, wssec.ErrNoMatchingKey},
		{"stranger by thumbprint", encrypt(t, &wssec.Encryptor{Certificate: strangerID.Certificate, KeyIdentifier: wssec.IdentifyByThumbprintSHA1}, msg), wssec.Policy{}, wssec.ErrNoMatchingKey},
		{"stranger without reference", edit(t, encrypt(t, &wssec.Encryptor{Certificate: strangerID.Certificate}, msg), stripKeyInfo), wssec.Policy{}, wssec.ErrDecryptionFailed},
		{"no reference, trial disabled", edit(t, def, stripKeyInfo), wssec.Policy{DisableTrialDecryption: true}, wssec.ErrNoMatchingKey},
		{"no reference, trial", edit(t, def, stripKeyInfo), wssec.Policy{}, nil},
		{"invalid policy: rsa15 listed", def, wssec.Policy{KeyTransports: []wssec.KeyTransport{wssec.RSA15}}, wssec.ErrInvalidPolicy},
		{"invalid policy: unknown", def, wssec.Policy{DataEncryptions: []wssec.DataEncryption{"urn:x"}}, wssec.ErrInvalidPolicy},
		{"invalid policy: negative", def, wssec.Policy{MaxDepth: -1}, wssec.ErrInvalidPolicy},
		{"other actor only", edit(t, def, func(d *etree.Document) {
			find(d, "Security").CreateAttr("soapenv:actor", "urn:proxy")
		}), wssec.Policy{}, wssec.ErrNoMatchingKey},
		{"other actor chosen", edit(t, def, func(d *etree.Document) {
			find(d, "Security").CreateAttr("soapenv:actor", "urn:proxy")
		}), wssec.Policy{Actor: "urn:proxy"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: tc.policy}
			res, err := d.Decrypt(tc.msg)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err == nil && res == nil {
				t.Fatalf("Decrypt(%s) = nil, nil", tc.name)
			}
			if errors.Is(err, wssec.ErrDecryptionFailed) && err != wssec.ErrDecryptionFailed { //nolint:errorlint
				t.Errorf("Decrypt(%s) error = %#v, want the bare sentinel", tc.name, err)
			}
		})
	}
}

// stripKeyInfo removes the EncryptedKey's key reference.
func stripKeyInfo(d *etree.Document) {
	ek := d.FindElement("//EncryptedKey")
	ek.RemoveChild(ek.SelectElement("KeyInfo"))
}

// TestDecrypt_keyReferences rewrites the EncryptedKey's KeyInfo into each
// form senders use and checks which key it selects.
func TestDecrypt_keyReferences(t *testing.T) {
	t.Parallel()
	msg := readTestdata(t, "response12.xml")
	mod := base64.StdEncoding.EncodeToString(oldID.Key.N.Bytes())
	issuer := func(name string) string {
		return `<wsse:SecurityTokenReference xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>` +
			name + "</ds:X509IssuerName>\n<ds:X509SerialNumber>\n4097\n</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></wsse:SecurityTokenReference>"
	}
	tests := []struct {
		name    string
		keyInfo string
		wantErr error
	}{
		{"KeyName", "<ds:KeyName>old</ds:KeyName>", nil},
		{"KeyName unknown", "<ds:KeyName>nobody</ds:KeyName>", wssec.ErrNoMatchingKey},
		{"KeyValue", "<ds:KeyValue><ds:RSAKeyValue><ds:Modulus>" + mod + "</ds:Modulus><ds:Exponent>AQAB</ds:Exponent></ds:RSAKeyValue></ds:KeyValue>", nil},
		{"X509SubjectName shared by old and new", "<ds:X509Data><ds:X509SubjectName>CN=tenant.example,OU=Integration,O=Example Tenant,C=DE</ds:X509SubjectName></ds:X509Data>", nil},
		{"X509SubjectName unknown", "<ds:X509Data><ds:X509SubjectName>CN=nobody</ds:X509SubjectName></ds:X509Data>", wssec.ErrNoMatchingKey},
		{"X509SKI", "<ds:X509Data><ds:X509SKI>" + base64.StdEncoding.EncodeToString(oldID.Certificate.SubjectKeyId) + "\n</ds:X509SKI></ds:X509Data>", nil},
		{"X509Certificate", "<ds:X509Data><ds:X509Certificate>" + base64.StdEncoding.EncodeToString(oldID.Certificate.Raw) + "</ds:X509Certificate></ds:X509Data>", nil},
		{"X509Certificate of stranger", "<ds:X509Data><ds:X509Certificate>" + base64.StdEncoding.EncodeToString(strangerID.Certificate.Raw) + "</ds:X509Certificate></ds:X509Data>", wssec.ErrNoMatchingKey},
		{"IssuerSerial RFC 2253", issuer("CN=wsrenew Test CA,O=wsrenew test,C=DE"), nil},
		{"IssuerSerial reversed with spaces", issuer("C=DE, O=wsrenew test, CN=wsrenew Test CA"), nil},
		{"IssuerSerial case and OIDs", issuer("2.5.4.3=WSRENEW  TEST CA;OID.2.5.4.10=\"wsrenew test\";c=de"), nil},
		{"IssuerSerial hex value", issuer("CN=#0c0f777372656e65772054657374204341,O=wsrenew test,C=DE"), nil},
		{"IssuerSerial wrong issuer", issuer("CN=Other CA,O=wsrenew test,C=DE"), wssec.ErrNoMatchingKey},
		{"IssuerSerial broken name", issuer("CN"), wssec.ErrMalformed},
		{"unknown construct falls back to trial", "<ds:PGPData><ds:PGPKeyID>AAAA</ds:PGPKeyID></ds:PGPData>", nil},
	}
	out := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, msg)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad := edit(t, out, func(d *etree.Document) {
				ki := find(d, "EncryptedKey").SelectElement("KeyInfo")
				for len(ki.Child) > 0 {
					ki.RemoveChildAt(0)
				}
				x := etree.NewDocument()
				if err := x.ReadFromString(`<w xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` + tc.keyInfo + `</w>`); err != nil {
					t.Fatal(err)
				}
				for _, c := range x.Root().ChildElements() {
					ki.AddChild(c)
				}
			})
			d := &wssec.Decryptor{Keys: twoKeyRing(t)}
			res, err := d.Decrypt(bad)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err == nil && !res.KeysUsed[0].Equal(oldID.Certificate) {
				t.Errorf("Decrypt(%s) used %s, want the old key", tc.name, res.KeysUsed[0].SerialNumber)
			}
		})
	}
}
