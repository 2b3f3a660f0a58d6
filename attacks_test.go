package wsrenew_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// The attack corpus: hostile variations of valid messages, each with the
// error the decryptor must give. `go test -run TestAttacks -update .`
// regenerates testdata/attacks from the definitions below; without -update
// the committed files are checked.

var update = flag.Bool("update", false, "regenerate testdata/attacks")

const attacksDir = "testdata/attacks"

type attackSidecar struct {
	Expect string       `json:"expect"`
	Policy attackPolicy `json:"policy,omitzero"`
	Notes  string       `json:"notes"`
}

type attackPolicy struct {
	Recipient string `json:"recipient,omitempty"`
	MaxDepth  int    `json:"max_depth,omitempty"`
	// Signed verifies signatures, trusting the partner's receiver
	// certificate, with the clock AtAfterCreated (a Go duration) after
	// the message's wsu:Created, or an hour into the certificates'
	// validity where the message has none.
	Signed             bool   `json:"signed,omitempty"`
	AtAfterCreated     string `json:"at_after_created,omitempty"`
	AllowPlaintextBody bool   `json:"allow_plaintext_body,omitempty"`
	AllowUnsignedBody  bool   `json:"allow_unsigned_body,omitempty"`
}

type attack struct {
	name   string
	expect error
	policy attackPolicy
	notes  string
	build  func(t *testing.T) []byte
}

var sentinels = map[string]error{
	"success":                nil,
	"ErrMalformed":           wssec.ErrMalformed,
	"ErrLimitExceeded":       wssec.ErrLimitExceeded,
	"ErrAlgorithmNotAllowed": wssec.ErrAlgorithmNotAllowed,
	"ErrNoMatchingKey":       wssec.ErrNoMatchingKey,
	"ErrDecryptionFailed":    wssec.ErrDecryptionFailed,
	"ErrNotEncrypted":        wssec.ErrNotEncrypted,
	"ErrSignatureInvalid":    wssec.ErrSignatureInvalid,
	"ErrUntrustedSigner":     wssec.ErrUntrustedSigner,
	"ErrMessageExpired":      wssec.ErrMessageExpired,
	"ErrUnsignedFault":       wssec.ErrUnsignedFault,
}

func sentinelName(err error) string {
	for name, s := range sentinels {
		if s == err {
			return name
		}
	}
	return fmt.Sprint(err)
}

func plainResponse(t *testing.T) []byte {
	return readFile(t, filepath.Join(interopDir, "plaintext", "soap11_response.xml"))
}

// withBody returns the plaintext response with its Body content replaced.
func withBody(t *testing.T, content string) []byte {
	msg := plainResponse(t)
	i := bytes.Index(msg, []byte("<soapenv:Body>")) + len("<soapenv:Body>")
	j := bytes.Index(msg, []byte("</soapenv:Body>"))
	return append(append(append([]byte(nil), msg[:i]...), content...), msg[j:]...)
}

func encryptFor(t *testing.T, e wssec.Encryptor, msg []byte) []byte {
	t.Helper()
	if e.Certificate == nil {
		e.Certificate = testpki.Load(testpki.New).Certificate
	}
	out, err := e.Encrypt(msg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mutate parses msg, applies f and serializes the result.
func mutate(t *testing.T, msg []byte, f func(d *etree.Document)) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(msg); err != nil {
		t.Fatal(err)
	}
	f(d)
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func el(d *etree.Document, local string) *etree.Element { return d.FindElement("//" + local) }

// replaceCipherValue rewrites the text of the EncryptedData's CipherValue.
func replaceCipherValue(t *testing.T, msg []byte, f func(v string) string) []byte {
	open := []byte("<xenc:CipherValue>")
	ed := bytes.Index(msg, []byte("<xenc:EncryptedData"))
	i := ed + bytes.Index(msg[ed:], open) + len(open)
	j := i + bytes.IndexByte(msg[i:], '<')
	return append(append(append([]byte(nil), msg[:i]...), f(string(msg[i:j]))...), msg[j:]...)
}

const nsWSUtility = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

// signedVector reads a WSS4J-signed vector of testdata/signed: the source
// of the signature attacks, mutated here without signing again.
func signedVector(t *testing.T, name string) []byte {
	return readFile(t, filepath.Join("testdata", "signed", name+".xml"))
}

// moveTimestamp moves the Security header's Timestamp into a header block
// of its own, keeping its namespace, so that its signature still verifies.
func moveTimestamp(d *etree.Document) {
	ts := el(d, "Timestamp")
	ts.Parent().RemoveChild(ts)
	ts.CreateAttr("xmlns:wsu", nsWSUtility)
	blk := el(d, "Header").CreateElement("x:Replay")
	blk.CreateAttr("xmlns:x", "urn:attacker")
	blk.AddChild(ts)
}

var createdRE = regexp.MustCompile(`<wsu:Created>([^<]+)</wsu:Created>`)

// attackClock is the clock a signed attack vector is checked at.
func attackClock(t *testing.T, msg []byte, p attackPolicy) time.Time {
	at := testpki.Load(testpki.Receiver).Certificate.NotBefore.Add(time.Hour)
	if m := createdRE.FindSubmatch(msg); m != nil {
		c, err := time.Parse(time.RFC3339Nano, string(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		at = c
	}
	if p.AtAfterCreated != "" {
		d, err := time.ParseDuration(p.AtAfterCreated)
		if err != nil {
			t.Fatal(err)
		}
		at = at.Add(d)
	}
	return at
}

func attacks() []attack {
	gcm := wssec.Encryptor{DataEncryption: wssec.AES256GCM}
	cbc := wssec.Encryptor{DataEncryption: wssec.AES256CBC}
	base := func(t *testing.T) []byte { return encryptFor(t, gcm, plainResponse(t)) }
	innerED := func(t *testing.T) string {
		in := encryptFor(t, wssec.Encryptor{EmbedEncryptedKey: true}, plainResponse(t))
		i := bytes.Index(in, []byte("<xenc:EncryptedData"))
		j := bytes.Index(in, []byte("</xenc:EncryptedData>")) + len("</xenc:EncryptedData>")
		return string(in[i:j])
	}
	return []attack{
		{"recursion-gcm", wssec.ErrMalformed, attackPolicy{}, "the Body decrypts to another EncryptedData: no second round of processing",
			func(t *testing.T) []byte { return encryptFor(t, gcm, withBody(t, innerED(t))) }},
		{"recursion-cbc", wssec.ErrDecryptionFailed, attackPolicy{}, "as recursion-gcm, but CBC is unauthenticated, so the uniform error",
			func(t *testing.T) []byte { return encryptFor(t, cbc, withBody(t, innerED(t))) }},
		{"smuggled-security-header-gcm", wssec.ErrMalformed, attackPolicy{}, "decrypted content holds a wsse:Security header",
			func(t *testing.T) []byte {
				return encryptFor(t, gcm, withBody(t, `<wsse:Security xmlns:wsse="`+nsWSSE+`"><wsse:UsernameToken/></wsse:Security>`))
			}},
		{"smuggled-second-body-gcm", wssec.ErrMalformed, attackPolicy{}, "decrypted content holds a second soapenv:Body",
			func(t *testing.T) []byte {
				return encryptFor(t, gcm, withBody(t, `<soapenv:Body><tns:Evil/></soapenv:Body>`))
			}},
		{"smuggled-envelope-gcm", wssec.ErrMalformed, attackPolicy{}, "decrypted content holds a whole Envelope",
			func(t *testing.T) []byte {
				return encryptFor(t, gcm, withBody(t, `<soapenv:Envelope><soapenv:Body/></soapenv:Envelope>`))
			}},
		{"smuggled-duplicate-id-gcm", wssec.ErrMalformed, attackPolicy{}, "decrypted content repeats the wsu:Id of a header block",
			func(t *testing.T) []byte {
				msg := mutate(t, plainResponse(t), func(d *etree.Document) {
					el(d, "MessageContext").CreateAttr("xmlns:wsu", nsWSUtility)
					el(d, "MessageContext").CreateAttr("wsu:Id", "ctx")
				})
				i := bytes.Index(msg, []byte("<soapenv:Body>")) + len("<soapenv:Body>")
				msg = append(append(append([]byte(nil), msg[:i]...), `<tns:X xmlns:wsu="`+nsWSUtility+`" wsu:Id="ctx"/>`...), msg[i:]...)
				return encryptFor(t, gcm, msg)
			}},
		{"deep-decrypted-content-gcm", wssec.ErrLimitExceeded, attackPolicy{MaxDepth: 50}, "decrypted content nests 90 levels, beyond MaxDepth (50 here) once in place; the envelope alone is within it",
			func(t *testing.T) []byte {
				return encryptFor(t, gcm, withBody(t, strings.Repeat("<tns:d>", 90)+strings.Repeat("</tns:d>", 90)))
			}},
		{"reference-to-envelope", wssec.ErrMalformed, attackPolicy{}, "the ReferenceList points at the Envelope",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					d.Root().CreateAttr("Id", "env")
					el(d, "DataReference").CreateAttr("URI", "#env")
				})
			}},
		{"reference-to-header", wssec.ErrMalformed, attackPolicy{}, "the ReferenceList points at the Header",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					el(d, "Header").CreateAttr("Id", "hdr")
					el(d, "DataReference").CreateAttr("URI", "#hdr")
				})
			}},
		{"reference-to-security-header", wssec.ErrMalformed, attackPolicy{}, "the ReferenceList points at the Security header",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					el(d, "Security").CreateAttr("wsu:Id", "sec")
					el(d, "DataReference").CreateAttr("URI", "#sec")
				})
			}},
		{"reference-to-plain-element", wssec.ErrMalformed, attackPolicy{}, "the ReferenceList points at a header block that is not encrypted",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					el(d, "MessageContext").CreateAttr("Id", "ctx")
					el(d, "DataReference").CreateAttr("URI", "#ctx")
				})
			}},
		{"reference-same-data-twice", wssec.ErrMalformed, attackPolicy{}, "one EncryptedData listed twice",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					dr := el(d, "DataReference")
					dr.Parent().AddChild(dr.Copy())
				})
			}},
		{"reference-external", wssec.ErrMalformed, attackPolicy{}, "a DataReference to a URI outside the message",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					el(d, "DataReference").CreateAttr("URI", "https://attacker.example/x")
				})
			}},
		{"duplicate-wsu-id", wssec.ErrMalformed, attackPolicy{}, "two elements share a wsu:Id",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					for _, e := range []*etree.Element{el(d, "MessageContext"), el(d, "CorrelationId")} {
						e.CreateAttr("xmlns:wsu", nsWSUtility)
						e.CreateAttr("wsu:Id", "same")
					}
				})
			}},
		{"duplicate-id-across-attributes", wssec.ErrMalformed, attackPolicy{}, "wsu:Id on one element equals the Id of the EncryptedData",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					e := el(d, "MessageContext")
					e.CreateAttr("xmlns:wsu", nsWSUtility)
					e.CreateAttr("wsu:Id", el(d, "EncryptedData").SelectAttrValue("Id", ""))
				})
			}},
		{"duplicate-xml-id", wssec.ErrMalformed, attackPolicy{}, "xml:id equals the Id of the EncryptedKey",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					el(d, "Tenant").CreateAttr("xml:id", el(d, "EncryptedKey").SelectAttrValue("Id", ""))
				})
			}},
		{"id-in-foreign-namespace", nil, attackPolicy{}, "an Id attribute in an unrelated namespace is no Id: no clash, decrypts",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					e := el(d, "MessageContext")
					e.CreateAttr("xmlns:o", "urn:other")
					e.CreateAttr("o:Id", el(d, "EncryptedData").SelectAttrValue("Id", ""))
				})
			}},
		{"key-for-other-actor", wssec.ErrNoMatchingKey, attackPolicy{}, "the only Security header is addressed to another actor: its EncryptedKey is not used",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) { el(d, "Security").CreateAttr("soapenv:actor", "urn:intermediary") })
			}},
		{"key-for-other-recipient", wssec.ErrNoMatchingKey, attackPolicy{Recipient: "urn:tenant.example"}, "the EncryptedKey's Recipient names someone else",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) { el(d, "EncryptedKey").CreateAttr("Recipient", "urn:someone-else") })
			}},
		{"algorithm-switching", wssec.ErrAlgorithmNotAllowed, attackPolicy{}, "one EncryptedKey used by a GCM and a CBC EncryptedData",
			func(t *testing.T) []byte {
				e := gcm
				e.EncryptHeaders = []xml.Name{{Space: "urn:example:partner:statements:v2", Local: "MessageContext"}}
				return mutate(t, encryptFor(t, e, plainResponse(t)), func(d *etree.Document) {
					el(d, "EncryptedData").SelectElement("EncryptionMethod").CreateAttr("Algorithm", string(wssec.AES256CBC))
				})
			}},
		{"cipher-value-comments", nil, attackPolicy{}, "comments inside the CipherValue are skipped",
			func(t *testing.T) []byte {
				return replaceCipherValue(t, base(t), func(v string) string { return v[:40] + "<!-- x -->" + v[40:] })
			}},
		{"cipher-value-cdata", nil, attackPolicy{}, "a CDATA section inside the CipherValue is text",
			func(t *testing.T) []byte {
				return replaceCipherValue(t, base(t), func(v string) string { return v[:40] + "<![CDATA[" + v[40:80] + "]]>" + v[80:] })
			}},
		{"cipher-value-line-breaks", nil, attackPolicy{}, "base64 wrapped at 64 columns with CR LF and indentation",
			func(t *testing.T) []byte {
				return replaceCipherValue(t, base(t), func(v string) string {
					var b strings.Builder
					for len(v) > 64 {
						b.WriteString("\r\n    " + v[:64])
						v = v[64:]
					}
					return b.String() + "\r\n    " + v + "\r\n"
				})
			}},
		{"cipher-value-processing-instruction", wssec.ErrMalformed, attackPolicy{}, "SOAP messages carry no processing instructions",
			func(t *testing.T) []byte {
				return replaceCipherValue(t, base(t), func(v string) string { return v[:40] + "<?pi x?>" + v[40:] })
			}},
		{"xml-base", nil, attackPolicy{}, "xml:base is never used to resolve anything",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) { d.Root().CreateAttr("xml:base", "https://attacker.example/") })
			}},
		{"doctype-entity-expansion", wssec.ErrMalformed, attackPolicy{}, "a DTD with nested entities: refused before expanding anything",
			func(t *testing.T) []byte {
				return append([]byte(`<!DOCTYPE soapenv:Envelope [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>`), base(t)...)
			}},
		{"two-security-headers", wssec.ErrMalformed, attackPolicy{}, "two Security headers for the same actor",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					s := el(d, "Security")
					s.Parent().AddChild(s.Copy())
				})
			}},
		{"too-many-encrypted-keys", wssec.ErrLimitExceeded, attackPolicy{}, "101 EncryptedKeys, beyond MaxEncryptedKeys",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					ek := el(d, "EncryptedKey")
					for i := range 100 {
						c := ek.Copy()
						c.CreateAttr("Id", fmt.Sprintf("extra-%d", i))
						c.RemoveChild(c.SelectElement("ReferenceList"))
						ek.Parent().AddChild(c)
					}
				})
			}},
		{"too-many-key-operations", wssec.ErrLimitExceeded, attackPolicy{}, "five EncryptedKeys each needed for data, beyond MaxKeyOperations (4)",
			func(t *testing.T) []byte {
				e := wssec.Encryptor{EmbedEncryptedKey: true, EncryptElement: true}
				return encryptFor(t, e, withBody(t, "<tns:a/><tns:b/><tns:c/><tns:d/><tns:e/>"))
			}},
		{"retrieval-to-foreign-actor", wssec.ErrNoMatchingKey, attackPolicy{}, "a ds:RetrievalMethod leads to an EncryptedKey in another actor's Security header: for someone else, not ours to use",
			func(t *testing.T) []byte { return retrievalTo(t, foreignActorHeader) }},
		{"retrieval-into-encryptedkey", wssec.ErrMalformed, attackPolicy{}, "a ds:RetrievalMethod leads to an EncryptedKey hidden in another EncryptedKey's KeyInfo, where no processing would find it",
			func(t *testing.T) []byte {
				return retrievalTo(t, func(d *etree.Document, ek *etree.Element) {
					host := ek.Copy()
					host.CreateAttr("Id", "EK-host")
					host.SelectElement("KeyInfo").AddChild(ek)
					d.FindElement("//Body").InsertChildAt(0, host)
				})
			}},
		{"x509digest-unknown-algorithm", wssec.ErrAlgorithmNotAllowed, attackPolicy{}, "the EncryptedKey names its key by a dsig11:X509Digest with MD5, which is refused before any key is used",
			func(t *testing.T) []byte {
				return mutate(t, encryptFor(t, gcm, plainResponse(t)), func(d *etree.Document) {
					ki := el(d, "EncryptedKey").SelectElement("KeyInfo")
					for len(ki.Child) > 0 {
						ki.RemoveChildAt(0)
					}
					dg := ki.CreateElement("ds:X509Data").CreateElement("dsig11:X509Digest")
					dg.CreateAttr("xmlns:dsig11", "http://www.w3.org/2009/xmldsig11#")
					dg.CreateAttr("Algorithm", "http://www.w3.org/2001/04/xmldsig-more#md5")
					dg.SetText("AAAAAAAAAAAAAAAAAAAAAA==")
				})
			}},
		{"timestamp-moved-sign", wssec.ErrSignatureInvalid, attackPolicy{Signed: true, AtAfterCreated: "1h", AllowPlaintextBody: true},
			"WSS4J sign-only message, long expired, with its signed Timestamp moved out of the Security header into another header block: the signature still verifies, but a Timestamp counts only as the Security header's own, and a reference to any other is refused",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_sign_rsa-sha256_sha256_bst_receiver"), moveTimestamp)
			}},
		{"timestamp-moved-sign-encrypt", wssec.ErrSignatureInvalid, attackPolicy{Signed: true, AtAfterCreated: "1h"},
			"as timestamp-moved-sign, WSS4J sign-then-encrypt (AES-256-CBC): refused before the private key is used",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_sign-encrypt_rsa-sha256_sha256_issuerserial_receiver_for-old"), moveTimestamp)
			}},
		{"timestamp-moved-encrypt-sign", wssec.ErrSignatureInvalid, attackPolicy{Signed: true, AtAfterCreated: "1h"},
			"as timestamp-moved-sign, WSS4J encrypt-then-sign",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_encrypt-sign_rsa-sha256_sha256_bst_receiver_for-new"), moveTimestamp)
			}},
		{"signature-body-referenced-twice", wssec.ErrMalformed, attackPolicy{Signed: true, AllowPlaintextBody: true},
			"the Body's Reference repeated in SignedInfo: a reference target may be named once, refused before the SignatureValue or any digest is computed",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_sign_rsa-sha256_sha256_bst_receiver"), func(d *etree.Document) {
					for _, r := range d.FindElements("//SignedInfo/Reference") {
						if strings.HasPrefix(r.SelectAttrValue("URI", ""), "#id-") {
							for range 62 {
								r.Parent().AddChild(r.Copy())
							}
							return
						}
					}
					t.Fatal("no Body reference")
				})
			}},
		{"signature-sha1-sign-encrypt-cbc", wssec.ErrAlgorithmNotAllowed, attackPolicy{Signed: true},
			"WSS4J sign-then-encrypt (AES-256-CBC) with the SignatureMethod changed to rsa-sha1: the algorithm is readable before decryption and refused there, not reported as the uniform decryption error",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_sign-encrypt_rsa-sha256_sha256_issuerserial_receiver_for-old"), func(d *etree.Document) {
					el(d, "SignatureMethod").CreateAttr("Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
				})
			}},
		{"unsigned-cbc-with-signers", wssec.ErrSignatureInvalid, attackPolicy{Signed: true},
			"an unsigned AES-CBC message while signatures are required: refused before the private key is used, so a modified ciphertext cannot tell well-formed plaintext from the rest",
			func(t *testing.T) []byte { return encryptFor(t, cbc, plainResponse(t)) }},
		{"unsigned-fault", wssec.ErrUnsignedFault, attackPolicy{Signed: true, AllowPlaintextBody: true},
			"an unsigned SOAP Fault while signatures are required: a FaultError, never a response",
			func(t *testing.T) []byte {
				return readFile(t, filepath.Join(interopDir, "plaintext", "soap11_fault.xml"))
			}},
		{"unsigned-fault-not-encrypted", wssec.ErrUnsignedFault, attackPolicy{Signed: true},
			"an unsigned SOAP Fault in the clear under the default policy while signatures are required: a FaultError that also matches ErrNotEncrypted, so that a Transport never passes it on as a partner's plaintext fault",
			func(t *testing.T) []byte {
				return readFile(t, filepath.Join(interopDir, "plaintext", "soap11_fault.xml"))
			}},
		{"unsigned-fault-unsigned-body-allowed", wssec.ErrUnsignedFault, attackPolicy{Signed: true, AllowPlaintextBody: true, AllowUnsignedBody: true},
			"as unsigned-fault, SOAP 1.2, with AllowUnsignedBody: a Fault anyone may have written is still no response",
			func(t *testing.T) []byte {
				return readFile(t, filepath.Join(interopDir, "plaintext", "soap12_fault.xml"))
			}},
		{"encrypted-signature-tampered-cbc", wssec.ErrDecryptionFailed, attackPolicy{Signed: true, AtAfterCreated: "1m"},
			"WSS4J sign-then-encrypt with EncryptSignature (AES-128-CBC), one bit of the Body's ciphertext flipped: the Signature is only readable after decryption, and what it finds in CBC content is the uniform error",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_sign-encrypt_rsa-sha256_sha256_issuerserial_encrypt-signature_receiver_for-old"), func(d *etree.Document) {
					cv := d.FindElement("//Body//CipherValue")
					b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(cv.Text()), ""))
					if err != nil {
						t.Fatal(err)
					}
					b[20] ^= 0x01
					cv.SetText(base64.StdEncoding.EncodeToString(b))
				})
			}},
		{"encrypted-signature-removed", wssec.ErrSignatureInvalid, attackPolicy{Signed: true, AtAfterCreated: "1m"},
			"as encrypted-signature-tampered-cbc, untampered, with the encrypted Signature and its DataReference removed: no signature can name the Body any more, refused before the private key is used",
			func(t *testing.T) []byte {
				return mutate(t, signedVector(t, "wss4j_soap11_sign-encrypt_rsa-sha256_sha256_issuerserial_encrypt-signature_receiver_for-old"), func(d *etree.Document) {
					sec := el(d, "Security")
					ed := sec.SelectElement("EncryptedData")
					id := ed.SelectAttrValue("Id", "")
					sec.RemoveChild(ed)
					for _, r := range d.FindElements("//DataReference") {
						if r.SelectAttrValue("URI", "") == "#"+id {
							r.Parent().RemoveChild(r)
						}
					}
				})
			}},
		{"cipher-reference", wssec.ErrMalformed, attackPolicy{}, "CipherReference would make the decryptor fetch data",
			func(t *testing.T) []byte {
				return mutate(t, base(t), func(d *etree.Document) {
					cd := el(d, "EncryptedData").SelectElement("CipherData")
					cd.RemoveChild(cd.SelectElement("CipherValue"))
					cd.CreateElement("xenc:CipherReference").CreateAttr("URI", "https://attacker.example/data")
				})
			}},
		{"char-reference-beyond-unicode", wssec.ErrMalformed, attackPolicy{}, "a header block's text holds &#x10000003C;, beyond U+10FFFF: encoding/xml wraps it to '<', so what a client reads would differ from what was checked",
			func(t *testing.T) []byte {
				return inHeader(base(t), `<tns:Note xmlns:tns="urn:example:note">a&#x10000003C;b</tns:Note>`)
			}},
		{"xml-declaration-repeated-encoding", wssec.ErrMalformed, attackPolicy{}, "the XML declaration names two encodings: parsers differ on which one counts",
			func(t *testing.T) []byte {
				decl := []byte(`<?xml version="1.0" encoding="UTF-8"?>`)
				msg := base(t)
				if !bytes.HasPrefix(msg, decl) {
					t.Fatal("the encryptor wrote no XML declaration")
				}
				return append([]byte(`<?xml version="1.0" encoding="UTF-8" encoding="ISO-8859-1"?>`), msg[len(decl):]...)
			}},
		{"attribute-literal-tab", wssec.ErrMalformed, attackPolicy{}, "an attribute value holds a literal tab: XML reads a space, encoding/xml and etree a tab, so a value could be checked as one thing and used as another",
			func(t *testing.T) []byte {
				return inHeader(base(t), `<tns:Note xmlns:tns="urn:example:note" iban="DE89`+"\t"+`3704 0044 0532 0130 00"/>`)
			}},
		{"attribute-literal-line-feed", wssec.ErrMalformed, attackPolicy{}, "as attribute-literal-tab, with a line feed",
			func(t *testing.T) []byte {
				return inHeader(base(t), `<tns:Note xmlns:tns="urn:example:note" iban="DE89`+"\n"+`3704 0044 0532 0130 00"/>`)
			}},
		{"duplicate-attribute-by-namespace", wssec.ErrMalformed, attackPolicy{}, "a header element with 12 prefixed attributes, two of them the same name in one namespace under different prefixes",
			func(t *testing.T) []byte {
				var b strings.Builder
				b.WriteString(`<tns:Note xmlns:tns="urn:example:note" xmlns:dup="urn:example:p3"`)
				for i := range 10 {
					fmt.Fprintf(&b, ` xmlns:p%d="urn:example:p%d"`, i, i)
				}
				for i := range 10 {
					fmt.Fprintf(&b, ` p%d:x="%d"`, i, i)
				}
				b.WriteString(` dup:x="forged"/>`)
				return inHeader(base(t), b.String())
			}},
		{"many-prefixed-attributes", nil, attackPolicy{}, "a header block of 100 elements with 60 prefixed attributes each, all with the same local name: the shape that made the duplicate-attribute check quadratic; see BenchmarkParse_attributes",
			func(t *testing.T) []byte {
				var b strings.Builder
				b.WriteString(`<tns:Note xmlns:tns="urn:example:note"`)
				for i := range 60 {
					fmt.Fprintf(&b, ` xmlns:p%d="urn:example:p%d"`, i, i)
				}
				b.WriteString(`>`)
				for range 100 {
					b.WriteString(`<tns:e`)
					for i := range 60 {
						fmt.Fprintf(&b, ` p%d:x="1"`, i)
					}
					b.WriteString(`/>`)
				}
				b.WriteString(`</tns:Note>`)
				return inHeader(base(t), b.String())
			}},
	}
}

// retrievalTo encrypts the plain response with the EncryptedKey inside the
// EncryptedData, then moves the key to where place puts it and names it
// by a ds:RetrievalMethod instead.
func retrievalTo(t *testing.T, place func(d *etree.Document, ek *etree.Element)) []byte {
	msg := encryptFor(t, wssec.Encryptor{EmbedEncryptedKey: true, DataEncryption: wssec.AES256GCM}, plainResponse(t))
	return mutate(t, msg, func(d *etree.Document) {
		ek := el(d, "EncryptedKey")
		ki := ek.Parent()
		ki.RemoveChild(ek)
		ek.CreateAttr("Id", "EK-moved")
		rm := ki.CreateElement("ds:RetrievalMethod")
		rm.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#EncryptedKey")
		rm.CreateAttr("URI", "#EK-moved")
		place(d, ek)
	})
}

// foreignActorHeader puts ek into a Security header for another actor.
func foreignActorHeader(d *etree.Document, ek *etree.Element) {
	sec := el(d, "Header").CreateElement("wsse:Security")
	sec.CreateAttr("xmlns:wsse", nsWSSE)
	sec.CreateAttr("soapenv:actor", "urn:example:someone-else")
	sec.AddChild(ek)
}

// inHeader inserts block, as bytes, at the end of msg's SOAP Header.
func inHeader(msg []byte, block string) []byte {
	i := bytes.Index(msg, []byte("</soapenv:Header>"))
	return append(append(append([]byte(nil), msg[:i]...), block...), msg[i:]...)
}

func TestAttacks(t *testing.T) {
	defs := attacks()
	if *update {
		if err := os.RemoveAll(attacksDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(attacksDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, a := range defs {
			side, _ := json.MarshalIndent(attackSidecar{Expect: sentinelName(a.expect), Policy: a.policy, Notes: a.notes}, "", "  ")
			if err := os.WriteFile(filepath.Join(attacksDir, a.name+".xml"), a.build(t), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(attacksDir, a.name+".json"), append(side, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(attacksDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range defs {
		names = append(names, a.name)
	}
	if len(files) != len(defs) {
		t.Fatalf("%s holds %d vectors, the definitions %d; run go test -run TestAttacks -update .", attacksDir, len(files), len(defs))
	}
	oldK, newK := testpki.Load(testpki.Old), testpki.Load(testpki.New)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !slices.Contains(names, name) {
				t.Fatalf("vector %s has no definition", name)
			}
			var side attackSidecar
			if err := json.Unmarshal(readFile(t, f), &side); err != nil {
				t.Fatal(err)
			}
			want, ok := sentinels[side.Expect]
			if !ok {
				t.Fatalf("unknown expect %q", side.Expect)
			}
			ring := wssec.NewKeyRing(wssec.Key{Decrypter: newK.Key, Certificate: newK.Certificate})
			if err := ring.Retain(wssec.Key{Decrypter: oldK.Key, Certificate: oldK.Certificate}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			p := side.Policy
			d := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{Recipient: p.Recipient, MaxDepth: p.MaxDepth,
				AllowPlaintextBody: p.AllowPlaintextBody, AllowUnsignedBody: p.AllowUnsignedBody}}
			msg := readFile(t, strings.TrimSuffix(f, ".json")+".xml")
			if p.Signed {
				clk := fakeclock.New(attackClock(t, msg, p))
				tr, err := wssec.NewTrustRing(testpki.Load(testpki.Receiver).Certificate, wssec.RingOptions{Now: clk.Now})
				if err != nil {
					t.Fatal(err)
				}
				d.Signers = tr
			}
			_, err := d.Decrypt(msg)
			if !errors.Is(err, want) || (want == nil) != (err == nil) {
				t.Fatalf("Decrypt(%s) error = %v, want %s", name, err, side.Expect)
			}
		})
	}
}
