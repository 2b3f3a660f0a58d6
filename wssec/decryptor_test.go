package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

type transport struct {
	name   string
	kt     wssec.KeyTransport
	digest crypto.Hash
	mgf    crypto.Hash
}

var transports = []transport{
	{"oaep-mgf1p", wssec.RSAOAEPMGF1P, 0, 0},
	{"oaep-mgf1p-sha256", wssec.RSAOAEPMGF1P, crypto.SHA256, 0},
	{"oaep11-sha1", wssec.RSAOAEP, crypto.SHA1, 0},
	{"oaep11-sha224-mgf224", wssec.RSAOAEP, crypto.SHA224, crypto.SHA224},
	{"oaep11-sha256", wssec.RSAOAEP, crypto.SHA256, 0},
	{"oaep11-sha256-mgf256", wssec.RSAOAEP, crypto.SHA256, crypto.SHA256},
	{"oaep11-sha384-mgf512", wssec.RSAOAEP, crypto.SHA384, crypto.SHA512},
	{"oaep11-sha512-mgf384", wssec.RSAOAEP, crypto.SHA512, crypto.SHA384},
	{"rsa15", wssec.RSA15, 0, 0},
}

var identifiers = []struct {
	name string
	id   wssec.KeyIdentifier
}{
	{"issuerserial", wssec.IdentifyByIssuerSerial},
	{"bst", wssec.IdentifyByDirectReference},
	{"x509", wssec.IdentifyByX509Certificate},
	{"ski", wssec.IdentifyBySKI},
	{"thumbprint", wssec.IdentifyByThumbprintSHA1},
}

var permissive = wssec.Policy{AllowRSA15: true, AllowTripleDES: true}

// roundTrip encrypts msg with e and checks that a two-key ring decrypts it
// back to msg with the expected key.
func roundTrip(t *testing.T, e *wssec.Encryptor, msg []byte, pol wssec.Policy, want *x509.Certificate) {
	t.Helper()
	out := encrypt(t, e, msg)
	d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: pol}
	res, err := d.Decrypt(out)
	if err != nil {
		t.Fatalf("Decrypt() error = %v", err)
	}
	if diff := cmp.Diff(normalize(t, msg), normalize(t, res.Envelope)); diff != "" {
		t.Errorf("Decrypt() envelope mismatch (-want +got):\n%s", diff)
	}
	for _, gone := range []string{"EncryptedKey", "EncryptedData", "ReferenceList", "EncryptedHeader"} {
		if bytes.Contains(res.Envelope, []byte(gone)) {
			t.Errorf("Decrypt() envelope still holds %s", gone)
		}
	}
	if len(res.KeysUsed) != 1 || !res.KeysUsed[0].Equal(want) {
		t.Errorf("Decrypt() KeysUsed = %d certificates, want the %s certificate", len(res.KeysUsed), want.Subject)
	}
}

// allDataEncryptions is every data encryption constant of the package.
var allDataEncryptions = []wssec.DataEncryption{
	wssec.AES128GCM, wssec.AES192GCM, wssec.AES256GCM,
	wssec.AES128CBC, wssec.AES192CBC, wssec.AES256CBC, wssec.TripleDESCBC,
}

// TestDecrypt_algorithms covers every key transport with every data
// algorithm; the other dimensions rotate with the case index so that each
// value of each meets many algorithms.
func TestDecrypt_algorithms(t *testing.T) {
	t.Parallel()
	msgs := [][]byte{readTestdata(t, "response11.xml"), readTestdata(t, "response12.xml")}
	n := 0
	for _, tr := range transports {
		for _, de := range allDataEncryptions {
			n++
			kid := identifiers[n%len(identifiers)]
			recipient := []testpki.Identity{oldID, newID}[n%2]
			element, embed := n%3 == 0, n%4 == 0
			name := fmt.Sprintf("%s/%s/%s/%s/soap%d/element=%v/embed=%v", tr.name, de[len(de)-11:], kid.name, recipient.Name, 11+n%2, element, embed)
			msg := msgs[n%2]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := &wssec.Encryptor{
					Certificate: recipient.Certificate, KeyTransport: tr.kt, OAEPDigest: tr.digest, MGF: tr.mgf,
					DataEncryption: de, KeyIdentifier: kid.id, EncryptElement: element, EmbedEncryptedKey: embed,
				}
				roundTrip(t, e, msg, permissive, recipient.Certificate)
			})
		}
	}
}

// TestDecrypt_layouts covers every key identifier with every message
// layout, for both keys of the ring.
func TestDecrypt_layouts(t *testing.T) {
	t.Parallel()
	session := []xml.Name{{Space: "urn:example:orders", Local: "Session"}}
	for _, kid := range identifiers {
		for _, soapFile := range []string{"response11.xml", "response12.xml"} {
			for _, layout := range []string{"content", "element", "embedded", "header"} {
				for _, recipient := range []testpki.Identity{oldID, newID} {
					name := fmt.Sprintf("%s/%s/%s/%s", kid.name, soapFile, layout, recipient.Name)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						e := &wssec.Encryptor{Certificate: recipient.Certificate, KeyIdentifier: kid.id, DataEncryption: wssec.AES128CBC, KeyTransport: wssec.RSAOAEPMGF1P}
						switch layout {
						case "element":
							e.EncryptElement = true
						case "embedded":
							e.EmbedEncryptedKey = true
						case "header":
							e.EncryptHeaders = session
						}
						roundTrip(t, e, readTestdata(t, soapFile), wssec.Policy{}, recipient.Certificate)
					})
				}
			}
		}
	}
}

func TestDecrypt_weakAlgorithmsRefusedByDefault(t *testing.T) {
	t.Parallel()
	msg := readTestdata(t, "response11.xml")
	for _, tc := range []struct {
		name string
		enc  wssec.Encryptor
	}{
		{"rsa15", wssec.Encryptor{KeyTransport: wssec.RSA15}},
		{"tripledes", wssec.Encryptor{DataEncryption: wssec.TripleDESCBC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.enc
			e.Certificate = newID.Certificate
			out := encrypt(t, &e, msg)
			d := &wssec.Decryptor{Keys: twoKeyRing(t)}
			if _, err := d.Decrypt(out); !errors.Is(err, wssec.ErrAlgorithmNotAllowed) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, wssec.ErrAlgorithmNotAllowed)
			}
			var ae *wssec.MessageError
			if _, err := d.Decrypt(out); !errors.As(err, &ae) || ae.URI == "" {
				t.Fatalf("Decrypt(%s) error = %v, want a *MessageError with the URI", tc.name, err)
			}
			d = &wssec.Decryptor{Keys: twoKeyRing(t), Policy: permissive}
			if _, err := d.Decrypt(out); err != nil {
				t.Fatalf("Decrypt(%s) with permissive policy error = %v, want nil", tc.name, err)
			}
		})
	}
}

// TestDecrypt_standaloneReferenceList moves the ReferenceList out of the
// EncryptedKey into the Security header, where each EncryptedData then
// names its key through a SecurityTokenReference.
func TestDecrypt_standaloneReferenceList(t *testing.T) {
	t.Parallel()
	msg := readTestdata(t, "response12.xml")
	out := encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EncryptElement: true}, msg)
	moved := edit(t, out, func(d *etree.Document) {
		ek := find(d, "EncryptedKey")
		rl := ek.SelectElement("ReferenceList")
		ek.RemoveChild(rl)
		rl.CreateAttr("xmlns:xenc", "http://www.w3.org/2001/04/xmlenc#")
		ek.Parent().AddChild(rl)
	})
	d := &wssec.Decryptor{Keys: twoKeyRing(t)}
	res, err := d.Decrypt(moved)
	if err != nil {
		t.Fatalf("Decrypt() error = %v", err)
	}
	if res.Decrypted != 2 || bytes.Contains(res.Envelope, []byte("ReferenceList")) {
		t.Fatalf("Decrypt() decrypted %d parts, ReferenceList left: %v", res.Decrypted, bytes.Contains(res.Envelope, []byte("ReferenceList")))
	}
	if diff := cmp.Diff(normalize(t, msg), normalize(t, res.Envelope)); diff != "" {
		t.Errorf("Decrypt() envelope mismatch (-want +got):\n%s", diff)
	}
}

// TestEncrypt_embeddedHasNoSecurityHeader: with every EncryptedKey inside
// its EncryptedData there is nothing for a Security header to hold, and an
// empty one would still demand mustUnderstand processing.
func TestEncrypt_embeddedHasNoSecurityHeader(t *testing.T) {
	t.Parallel()
	out := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, EmbedEncryptedKey: true}, readTestdata(t, "response11.xml"))
	if bytes.Contains(out, []byte("<wsse:Security ")) {
		t.Errorf("Encrypt(embedded) wrote a Security header:\n%s", out)
	}
	out = encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, EmbedEncryptedKey: true, KeyIdentifier: wssec.IdentifyByDirectReference}, readTestdata(t, "response11.xml"))
	if !bytes.Contains(out, []byte("BinarySecurityToken")) {
		t.Errorf("Encrypt(embedded, direct reference) wrote no BinarySecurityToken")
	}
}

// TestDecrypt_valuesKept checks that what the message says reaches the
// caller unchanged, around the encrypted part and in it: white space
// written as character references in attribute values and a CR in text
// must survive being read and written again by the encryptor and the
// decryptor.
func TestDecrypt_valuesKept(t *testing.T) {
	t.Parallel()
	msg := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:t">` +
		`<soapenv:Header><tns:Meta note="a&#10;b&#9;c" plain="d` + "\t" + `e">x&#13;y</tns:Meta></soapenv:Header>` +
		`<soapenv:Body><tns:R note="a&#10;b&#9;c">x&#13;y</tns:R></soapenv:Body></soapenv:Envelope>`)
	d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(oldID))}
	res, err := d.Decrypt(encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, msg))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Header struct {
			Meta struct {
				Note  string `xml:"note,attr"`
				Plain string `xml:"plain,attr"`
				Text  string `xml:",chardata"`
			} `xml:"Meta"`
		} `xml:"Header"`
		Body struct {
			R struct {
				Note string `xml:"note,attr"`
				Text string `xml:",chardata"`
			} `xml:"R"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(res.Envelope, &env); err != nil {
		t.Fatal(err)
	}
	m := env.Header.Meta
	if r := env.Body.R; r.Note != "a\nb\tc" || r.Text != "x\ry" {
		t.Errorf("decrypted Body: note = %q, text = %q", r.Note, r.Text)
	}
	if m.Note != "a\nb\tc" || m.Plain != "d e" || m.Text != "x\ry" {
		t.Fatalf("after decryption note = %q, plain = %q, text = %q; want %q, %q, %q\n%s", m.Note, m.Plain, m.Text, "a\nb\tc", "d e", "x\ry", res.Envelope)
	}
}
