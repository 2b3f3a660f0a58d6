package wsrenew_test

import (
	"crypto"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wsrenew/wsrenew/internal/interop"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/wssec"
)

// Live round trips with the third-party tools: a tool encrypts at test
// time and we decrypt, and we encrypt and the tool decrypts. Each test skips
// when its tool is missing, and fails instead when WSRENEW_INTEROP=require
// (see internal/interop). testdata/interop/install.sh installs the tools.

// buildDir holds what the tests compile (the WSS4J driver) for one run.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wsrenew-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	nsTNS = "urn:example:partner:statements:v2"

	resp11  = "soap11_response.xml"
	resp12  = "soap12_response.xml"
	fault11 = "soap11_fault.xml"
	fault12 = "soap12_fault.xml"
)

func pkiFile(name, ext string) string {
	return filepath.Join("internal", "testpki", testpki.Dir, name+"."+ext)
}

func keyPair(name string) interop.KeyPair {
	return interop.KeyPair{Key: pkiFile(name, "key"), Cert: pkiFile(name, "pem")}
}

func plaintextFile(name string) string { return filepath.Join(interopDir, "plaintext", name) }

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	wss4jOnce   sync.Once
	wss4jRunner *interop.WSS4J
	wss4jErr    error
)

// wss4j returns the compiled WSS4J driver, compiling it once per run.
func wss4j(t *testing.T) *interop.WSS4J {
	t.Helper()
	paths := interop.Require(t, interop.WSS4JTools()...)
	wss4jOnce.Do(func() {
		wss4jRunner, wss4jErr = interop.BuildWSS4J(paths[0], paths[1],
			filepath.Join(interopDir, "java", "WssInterop.java"), filepath.Join(buildDir, "java"))
	})
	if wss4jErr != nil {
		t.Fatal(wss4jErr)
	}
	return wss4jRunner
}

func xmlsec1(t *testing.T) interop.XMLSec1 {
	t.Helper()
	return interop.XMLSec1{Path: interop.Require(t, interop.XMLSec1Tool())[0]}
}

func xmlEncryption(t *testing.T) interop.XMLEncryption {
	t.Helper()
	dir := filepath.Join(interopDir, "node")
	paths := interop.Require(t, interop.NodeTools(dir)...)
	return interop.XMLEncryption{Node: paths[0], Script: filepath.Join(dir, "xmlenc.js")}
}

// decryptAndCompare decrypts a tool's message with the test ring and
// compares the result with the plaintext the tool was given.
func decryptAndCompare(t *testing.T, name string, msg []byte, plaintext, key string, pol wssec.Policy) {
	t.Helper()
	d := &wssec.Decryptor{Keys: testRing(t), Policy: pol}
	res, err := d.Decrypt(msg)
	if err != nil {
		t.Fatalf("Decrypt(%s) error = %v, want success", name, err)
	}
	compareEnvelopes(t, name, readFile(t, plaintextFile(plaintext)), res.Envelope)
	checkKeyUsed(t, name, key, res.KeysUsed)
}

// weakPolicy allows what a case needs of rsa-1_5 and 3DES.
func weakPolicy(kt, data string) wssec.Policy {
	return wssec.Policy{
		AllowRSA15:     strings.Contains(kt, "rsa15") || strings.Contains(kt, "rsa-1_5"),
		AllowTripleDES: strings.Contains(data, "3des") || strings.Contains(data, "tripledes"),
	}
}

func alternate(i int, a, b string) string {
	if i%2 == 0 {
		return a
	}
	return b
}

func TestInterop_WSS4JEncrypts(t *testing.T) {
	t.Parallel()
	w := wss4j(t)
	type tc struct {
		name, plaintext, key string
		job                  interop.WSS4JEncrypt
	}
	var cases []tc
	add := func(plaintext, key string, j interop.WSS4JEncrypt) {
		name := strings.Join([]string{strings.TrimSuffix(plaintext, ".xml"), j.KeyTransport + j.Digest, j.Data, j.KeyIdentifier, j.Part}, "_")
		if len(j.Headers) > 0 {
			name += "_header"
		}
		if j.Embed {
			name += "_embedded"
		}
		cases = append(cases, tc{name: name + "_" + key, plaintext: plaintext, key: key, job: j})
	}
	for i, id := range []string{"issuerserial", "bst", "x509", "ski", "thumbprint"} {
		add(resp11, alternate(i, "new", "old"), interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes128-gcm", KeyIdentifier: id, Part: "content"})
		add(resp12, alternate(i, "old", "new"), interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes256-cbc", KeyIdentifier: id, Part: "element"})
	}
	for i, data := range []string{"aes128-cbc", "aes192-cbc", "aes256-cbc", "aes192-gcm", "aes256-gcm", "3des"} {
		add(alternate(i, resp11, resp12), alternate(i, "old", "new"), interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: data, KeyIdentifier: "issuerserial", Part: "content"})
	}
	for i, kt := range []struct{ kt, digest string }{{"oaep-mgf1p", "sha256"}, {"rsa-oaep", ""}, {"rsa15", ""}} {
		add(resp11, alternate(i, "new", "old"), interop.WSS4JEncrypt{KeyTransport: kt.kt, Digest: kt.digest, Data: "aes256-gcm", KeyIdentifier: "ski", Part: "content"})
	}
	add(resp11, "new", interop.WSS4JEncrypt{KeyTransport: "rsa15", Data: "3des", KeyIdentifier: "bst", Part: "element"})
	add(resp11, "old", interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes128-gcm", KeyIdentifier: "bst", Part: "content", Headers: []string{"{" + nsTNS + "}MessageContext"}})
	add(resp12, "new", interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes256-cbc", KeyIdentifier: "thumbprint", Part: "element", Headers: []string{"{" + nsTNS + "}MessageContext"}})
	add(resp11, "new", interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes256-gcm", KeyIdentifier: "issuerserial", Part: "content", Embed: true})
	add(resp12, "old", interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes128-cbc", KeyIdentifier: "x509", Part: "element", Embed: true})
	add(fault11, "old", interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes128-gcm", KeyIdentifier: "ski", Part: "element"})
	add(fault12, "new", interop.WSS4JEncrypt{KeyTransport: "oaep-mgf1p", Data: "aes256-cbc", KeyIdentifier: "issuerserial", Part: "content"})

	dir := t.TempDir()
	jobs := make([]interop.WSS4JJob, len(cases))
	for i := range cases {
		c := &cases[i]
		c.job.In = plaintextFile(c.plaintext)
		c.job.Out = filepath.Join(dir, fmt.Sprintf("%d.xml", i))
		c.job.Cert = pkiFile(c.key, "pem")
		jobs[i] = c.job
	}
	errs, err := w.Batch(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if errs[i] != nil {
				t.Fatalf("WSS4J encrypt: %v", errs[i])
			}
			decryptAndCompare(t, c.name, readFile(t, c.job.Out), c.plaintext, c.key, weakPolicy(c.job.KeyTransport, c.job.Data))
		})
	}
}

// encryptorCase is one configuration of our Encryptor for a tool to decrypt.
type encryptorCase struct {
	name, plaintext, key string
	enc                  wssec.Encryptor
}

func (c *encryptorCase) encrypt(t *testing.T) []byte {
	t.Helper()
	c.enc.Certificate = testpki.Load(c.key).Certificate
	out, err := c.enc.Encrypt(readFile(t, plaintextFile(c.plaintext)))
	if err != nil {
		t.Fatalf("Encrypt(%s) error = %v", c.name, err)
	}
	return out
}

var (
	keyTransportNames = map[wssec.KeyTransport]string{wssec.RSAOAEPMGF1P: "oaep-mgf1p", wssec.RSAOAEP: "rsa-oaep", wssec.RSA15: "rsa15"}
	dataNames         = map[wssec.DataEncryption]string{
		wssec.AES128CBC: "aes128-cbc", wssec.AES192CBC: "aes192-cbc", wssec.AES256CBC: "aes256-cbc",
		wssec.AES128GCM: "aes128-gcm", wssec.AES192GCM: "aes192-gcm", wssec.AES256GCM: "aes256-gcm",
		wssec.TripleDESCBC: "3des",
	}
	keyIDNames = map[wssec.KeyIdentifier]string{
		wssec.IdentifyByIssuerSerial: "issuerserial", wssec.IdentifyByDirectReference: "bst",
		wssec.IdentifyByX509Certificate: "x509", wssec.IdentifyBySKI: "ski", wssec.IdentifyByThumbprintSHA1: "thumbprint",
	}
	allKeyIdentifiers = []wssec.KeyIdentifier{wssec.IdentifyByIssuerSerial, wssec.IdentifyByDirectReference,
		wssec.IdentifyByX509Certificate, wssec.IdentifyBySKI, wssec.IdentifyByThumbprintSHA1}
)

func hashName(h crypto.Hash) string {
	if h == 0 {
		return ""
	}
	return "-" + strings.ToLower(strings.ReplaceAll(h.String(), "-", ""))
}

func newEncryptorCase(i int, e wssec.Encryptor) encryptorCase {
	plaintext := []string{resp11, resp12, fault11, fault12}[i%4]
	key := alternate(i/2, "new", "old")
	parts := []string{strings.TrimSuffix(plaintext, ".xml"), keyTransportNames[e.KeyTransport] + hashName(e.OAEPDigest) + hashName(e.MGF), dataNames[e.DataEncryption], keyIDNames[e.KeyIdentifier]}
	if e.EncryptElement {
		parts = append(parts, "element")
	}
	if len(e.EncryptHeaders) > 0 {
		parts = append(parts, "header")
	}
	if e.EmbedEncryptedKey {
		parts = append(parts, "embedded")
	}
	return encryptorCase{name: strings.Join(append(parts, key), "_"), plaintext: plaintext, key: key, enc: e}
}

var messageContext = []xml.Name{{Space: nsTNS, Local: "MessageContext"}}

// toolDecrypted compares what a tool decrypted with the plaintext we
// encrypted.
func toolDecrypted(t *testing.T, c encryptorCase, got []byte) {
	t.Helper()
	compareEnvelopes(t, c.name, readFile(t, plaintextFile(c.plaintext)), got)
}

func TestInterop_WSS4JDecrypts(t *testing.T) {
	t.Parallel()
	w := wss4j(t)
	// Everything WSS4J 1.6.19 decrypts of what the Encryptor offers: not
	// xmlenc11 rsa-oaep, AES-192 or embedded EncryptedKeys (see
	// testdata/README.md).
	type kt struct {
		kt     wssec.KeyTransport
		digest crypto.Hash
	}
	var cases []encryptorCase
	i := 0
	for _, k := range []kt{{wssec.RSAOAEPMGF1P, 0}, {wssec.RSAOAEPMGF1P, crypto.SHA256}, {wssec.RSA15, 0}} {
		for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256CBC, wssec.AES128GCM, wssec.AES256GCM, wssec.TripleDESCBC} {
			for _, id := range allKeyIdentifiers {
				e := wssec.Encryptor{KeyTransport: k.kt, OAEPDigest: k.digest, DataEncryption: de, KeyIdentifier: id, EncryptElement: i%3 == 1}
				if i%5 == 2 {
					e.EncryptHeaders = messageContext
				}
				cases = append(cases, newEncryptorCase(i, e))
				i++
			}
		}
	}
	dir := t.TempDir()
	jobs := make([]interop.WSS4JJob, len(cases))
	outs := make([]string, len(cases))
	for i := range cases {
		in := filepath.Join(dir, fmt.Sprintf("%d-in.xml", i))
		if err := os.WriteFile(in, cases[i].encrypt(t), 0o600); err != nil {
			t.Fatal(err)
		}
		outs[i] = filepath.Join(dir, fmt.Sprintf("%d-out.xml", i))
		jobs[i] = interop.WSS4JDecrypt{In: in, Out: outs[i], Keys: []interop.KeyPair{keyPair(cases[i].key)}}
	}
	errs, err := w.Batch(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if errs[i] != nil {
				t.Fatalf("WSS4J decrypt: %v", errs[i])
			}
			toolDecrypted(t, c, readFile(t, outs[i]))
		})
	}
}

// xmlsec1Case is one xmlsec1 --encrypt run at test time.
type xmlsec1Case struct {
	plaintext, key, kt, data, keyID string
	label                           string // base64 OAEPparams
	element, secHeader              bool
}

func (c xmlsec1Case) name() string {
	n := strings.Join([]string{strings.TrimSuffix(c.plaintext, ".xml"), c.kt, c.data, c.keyID}, "_")
	if c.element {
		n += "_element"
	}
	if c.secHeader {
		n += "_secheader"
	}
	if c.label != "" {
		n += "_label"
	}
	return n + "_" + c.key
}

var xmlsecURIs = map[string]string{
	"oaep-mgf1p": "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
	"rsa15":      "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
	"aes128-cbc": "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
	"aes192-cbc": "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
	"aes256-cbc": "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
	"aes128-gcm": "http://www.w3.org/2009/xmlenc11#aes128-gcm",
	"aes192-gcm": "http://www.w3.org/2009/xmlenc11#aes192-gcm",
	"aes256-gcm": "http://www.w3.org/2009/xmlenc11#aes256-gcm",
	"3des":       "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
}

// payloads maps each plaintext to the --node-name of its SOAP Body and of
// the Body's child element.
var payloads = map[string][2]string{
	resp11:  {"http://schemas.xmlsoap.org/soap/envelope/:Body", nsTNS + ":GetStatementResponse"},
	resp12:  {"http://www.w3.org/2003/05/soap-envelope:Body", nsTNS + ":GetStatementResponse"},
	fault11: {"http://schemas.xmlsoap.org/soap/envelope/:Body", "http://schemas.xmlsoap.org/soap/envelope/:Fault"},
	fault12: {"http://www.w3.org/2003/05/soap-envelope:Body", "http://www.w3.org/2003/05/soap-envelope:Fault"},
}

func TestInterop_XMLSec1Encrypts(t *testing.T) {
	t.Parallel()
	x := xmlsec1(t)
	var cases []xmlsec1Case
	datas := []string{"aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-gcm", "aes192-gcm", "aes256-gcm"}
	i := 0
	for _, id := range []string{"x509cert", "issuerserial", "ski", "subjectname", "keyname", "keyvalue", "none"} {
		for _, element := range []bool{false, true} {
			cases = append(cases, xmlsec1Case{
				plaintext: []string{resp11, resp12, fault11, fault12}[i%4], key: alternate(i/2, "new", "old"),
				kt: "oaep-mgf1p", data: datas[i%len(datas)], keyID: id, element: element,
			})
			i++
		}
	}
	cases = append(cases,
		xmlsec1Case{plaintext: resp11, key: "old", kt: "rsa15", data: "aes256-gcm", keyID: "x509cert"},
		xmlsec1Case{plaintext: resp12, key: "new", kt: "oaep-mgf1p", data: "3des", keyID: "issuerserial", element: true},
		xmlsec1Case{plaintext: resp11, key: "new", kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "ski", secHeader: true},
		xmlsec1Case{plaintext: resp12, key: "old", kt: "oaep-mgf1p", data: "aes256-cbc", keyID: "keyname", element: true, secHeader: true},
		xmlsec1Case{plaintext: fault12, key: "new", kt: "oaep-mgf1p", data: "aes128-gcm", keyID: "ski", label: "bGl2ZQ=="},
	)
	for _, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			typ := "http://www.w3.org/2001/04/xmlenc#Content"
			node := payloads[c.plaintext][0]
			if c.element {
				typ = "http://www.w3.org/2001/04/xmlenc#Element"
				node = payloads[c.plaintext][1]
			}
			tmpl, err := interop.RenderTemplate(filepath.Join(interopDir, "xmlsec", "encrypted-data.tmpl.xml"), interop.XMLSec1Template{
				ID: "ED-live", KeyID: "EK-live", Type: typ, Data: xmlsecURIs[c.data], KeyTransport: xmlsecURIs[c.kt], KeyIdentifier: c.keyID,
				OAEPParams: c.label,
			})
			if err != nil {
				t.Fatal(err)
			}
			tf := filepath.Join(dir, "template.xml")
			if err := os.WriteFile(tf, tmpl, 0o600); err != nil {
				t.Fatal(err)
			}
			data := plaintextFile(c.plaintext)
			if c.secHeader {
				data = withReferenceList(t, dir, c.plaintext, "ED-live")
			}
			sk, err := interop.SessionKey(xmlsecURIs[c.data])
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out.xml")
			err = x.Encrypt(interop.XMLSec1Encrypt{Template: tf, XMLData: data, Node: node, Cert: pkiFile(c.key, "pem"), CertName: c.key, SessionKey: sk, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			decryptAndCompare(t, c.name(), readFile(t, out), c.plaintext, c.key, weakPolicy(c.kt, c.data))
		})
	}
}

// withReferenceList writes a copy of a plaintext envelope whose Header
// starts with a wsse:Security header holding a ReferenceList to id.
func withReferenceList(t *testing.T, dir, plaintext, id string) string {
	t.Helper()
	prefix, mu := "soapenv", "1"
	if strings.Contains(plaintext, "soap12") {
		prefix, mu = "env", "true"
	}
	sec, err := interop.RenderTemplate(filepath.Join(interopDir, "xmlsec", "security-header.tmpl.xml"),
		map[string]string{"EnvPrefix": prefix, "MustUnderstand": mu, "ID": id})
	if err != nil {
		t.Fatal(err)
	}
	b := string(readFile(t, plaintextFile(plaintext)))
	open := "<" + prefix + ":Header>"
	if !strings.Contains(b, open) {
		t.Fatalf("%s has no %s", plaintext, open)
	}
	b = strings.Replace(b, open, open+strings.TrimSpace(string(sec)), 1)
	f := filepath.Join(dir, "data.xml")
	if err := os.WriteFile(f, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestInterop_XMLSec1Decrypts(t *testing.T) {
	t.Parallel()
	x := xmlsec1(t)
	// xmlsec1 reads the EncryptedKey only inside EncryptedData/ds:KeyInfo,
	// has no xmlenc11 rsa-oaep and no OAEP digest but SHA-1 (see
	// testdata/README.md). It does not understand wsse:SecurityTokenReference
	// and falls back to the one key it was given.
	var cases []encryptorCase
	i := 0
	for _, kt := range []wssec.KeyTransport{wssec.RSAOAEPMGF1P, wssec.RSA15} {
		for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES192CBC, wssec.AES256CBC, wssec.AES128GCM, wssec.AES192GCM, wssec.AES256GCM, wssec.TripleDESCBC} {
			e := wssec.Encryptor{KeyTransport: kt, DataEncryption: de, KeyIdentifier: allKeyIdentifiers[i%len(allKeyIdentifiers)],
				EncryptElement: i%2 == 1, EmbedEncryptedKey: true}
			cases = append(cases, newEncryptorCase(i, e))
			i++
		}
	}
	ca := pkiFile(testpki.CA, "pem")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := x.Decrypt(c.encrypt(t), []interop.KeyPair{keyPair(c.key)}, ca)
			if err != nil {
				t.Fatal(err)
			}
			toolDecrypted(t, c, got)
		})
	}
}

func TestInterop_XMLEncryptionEncrypts(t *testing.T) {
	t.Parallel()
	x := xmlEncryption(t)
	type tc struct {
		name, plaintext, key string
		job                  interop.NodeJob
	}
	var cases []tc
	kts := []struct{ kt, digest, mgf string }{
		{"rsa-oaep-mgf1p", "", ""}, {"rsa-oaep-mgf1p", "sha256", ""}, {"rsa-oaep", "sha256", "sha256"},
		{"rsa-oaep", "sha256", "sha1"}, {"rsa-oaep", "sha512", "sha512"}, {"rsa-oaep", "sha1", "sha256"},
	}
	datas := []string{"aes128-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"}
	i := 0
	for _, k := range kts {
		for _, data := range datas {
			j := interop.NodeJob{Op: "encrypt", KT: k.kt, Digest: k.digest, MGF: k.mgf, Data: data, Part: alternate(i/3, "element", "content")}
			plaintext, key := []string{resp11, resp12, fault11, fault12}[i%4], alternate(i/2, "new", "old")
			name := strings.Join([]string{strings.TrimSuffix(plaintext, ".xml"), k.kt, k.digest, k.mgf, data, j.Part, key}, "_")
			cases = append(cases, tc{name: name, plaintext: plaintext, key: key, job: j})
			i++
		}
	}
	cases = append(cases,
		tc{name: "soap11_response_rsa-1_5_aes128-gcm_element_old", plaintext: resp11, key: "old", job: interop.NodeJob{Op: "encrypt", KT: "rsa-1_5", Data: "aes128-gcm", Part: "element"}},
		tc{name: "soap12_response_rsa-oaep-mgf1p_tripledes-cbc_content_new", plaintext: resp12, key: "new", job: interop.NodeJob{Op: "encrypt", KT: "rsa-oaep-mgf1p", Data: "tripledes-cbc", Part: "content"}},
		tc{name: "soap11_fault_rsa-oaep_sha256_sha1_label_aes256-gcm_element_old", plaintext: fault11, key: "old", job: interop.NodeJob{Op: "encrypt", KT: "rsa-oaep", Digest: "sha256", MGF: "sha1", Label: "bGl2ZQ==", Data: "aes256-gcm", Part: "element"}},
	)
	dir := t.TempDir()
	jobs := make([]interop.NodeJob, len(cases))
	for i := range cases {
		c := &cases[i]
		c.job.In = plaintextFile(c.plaintext)
		c.job.Out = filepath.Join(dir, fmt.Sprintf("%d.xml", i))
		c.job.Cert = pkiFile(c.key, "pem")
		jobs[i] = c.job
	}
	errs, err := x.Batch(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if errs[i] != nil {
				t.Fatalf("xml-encryption encrypt: %v", errs[i])
			}
			decryptAndCompare(t, c.name, readFile(t, c.job.Out), c.plaintext, c.key, weakPolicy(c.job.KT, c.job.Data))
		})
	}
}

func TestInterop_XMLEncryptionDecrypts(t *testing.T) {
	t.Parallel()
	x := xmlEncryption(t)
	// xml-encryption reads the EncryptedKey only inside EncryptedData's
	// KeyInfo, has no AES-192, knows the digests SHA-1, SHA-256 and SHA-512,
	// and on Node 20 cannot decrypt rsa-1_5 (see testdata/README.md).
	type kt struct {
		kt          wssec.KeyTransport
		digest, mgf crypto.Hash
	}
	var cases []encryptorCase
	i := 0
	for _, k := range []kt{{wssec.RSAOAEPMGF1P, 0, 0}, {wssec.RSAOAEPMGF1P, crypto.SHA256, 0}, {wssec.RSAOAEP, 0, 0},
		{wssec.RSAOAEP, crypto.SHA256, crypto.SHA256}, {wssec.RSAOAEP, crypto.SHA512, crypto.SHA1}, {wssec.RSAOAEP, crypto.SHA1, crypto.SHA512}} {
		for _, de := range []wssec.DataEncryption{wssec.AES128CBC, wssec.AES256CBC, wssec.AES128GCM, wssec.AES256GCM, wssec.TripleDESCBC} {
			e := wssec.Encryptor{KeyTransport: k.kt, OAEPDigest: k.digest, MGF: k.mgf, DataEncryption: de,
				KeyIdentifier: allKeyIdentifiers[i%len(allKeyIdentifiers)], EncryptElement: i%2 == 1, EmbedEncryptedKey: true}
			cases = append(cases, newEncryptorCase(i, e))
			i++
		}
	}
	dir := t.TempDir()
	jobs := make([]interop.NodeJob, len(cases))
	for i := range cases {
		in := filepath.Join(dir, fmt.Sprintf("%d-in.xml", i))
		if err := os.WriteFile(in, cases[i].encrypt(t), 0o600); err != nil {
			t.Fatal(err)
		}
		jobs[i] = interop.NodeJob{Op: "decrypt", In: in, Out: filepath.Join(dir, fmt.Sprintf("%d-out.xml", i)), Keys: []string{pkiFile(cases[i].key, "key")}}
	}
	errs, err := x.Batch(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if errs[i] != nil {
				t.Fatalf("xml-encryption decrypt: %v", errs[i])
			}
			toolDecrypted(t, c, readFile(t, jobs[i].Out))
		})
	}
}

// TestInterop_toolsRejectTampering checks the harness itself: each tool's
// decrypt mode must fail on a message we corrupted, or a passing round trip
// above would prove nothing.
func TestInterop_toolsRejectTampering(t *testing.T) {
	t.Parallel()
	tamper := func(t *testing.T, msg []byte) []byte {
		t.Helper()
		s := string(msg)
		const open = "<xenc:CipherValue>"
		// The last CipherValue is an EncryptedData's (GCM): change one
		// character in its middle.
		i := strings.LastIndex(s, open) + len(open)
		j := i + strings.Index(s[i:], "<")
		k := (i + j) / 2
		c := byte('A')
		if s[k] == 'A' {
			c = 'B'
		}
		return []byte(s[:k] + string(c) + s[k+1:])
	}
	enc := func(t *testing.T, embed bool) []byte {
		t.Helper()
		c := newEncryptorCase(0, wssec.Encryptor{KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES256GCM, EmbedEncryptedKey: embed})
		return tamper(t, c.encrypt(t))
	}
	t.Run("wss4j", func(t *testing.T) {
		t.Parallel()
		w := wss4j(t)
		in := filepath.Join(t.TempDir(), "in.xml")
		if err := os.WriteFile(in, enc(t, false), 0o600); err != nil {
			t.Fatal(err)
		}
		errs, err := w.Batch([]interop.WSS4JJob{interop.WSS4JDecrypt{In: in, Out: in + ".out", Keys: []interop.KeyPair{keyPair("new")}}})
		if err != nil {
			t.Fatal(err)
		}
		var je *interop.JobError
		if !errors.As(errs[0], &je) {
			t.Fatalf("WSS4J decrypt of a tampered message: error = %v, want a failure", errs[0])
		}
	})
	t.Run("xmlsec1", func(t *testing.T) {
		t.Parallel()
		if _, err := xmlsec1(t).Decrypt(enc(t, true), []interop.KeyPair{keyPair("new")}, ""); err == nil {
			t.Fatal("xmlsec1 --decrypt of a tampered message succeeded, want a failure")
		}
	})
	t.Run("xml-encryption", func(t *testing.T) {
		t.Parallel()
		x := xmlEncryption(t)
		in := filepath.Join(t.TempDir(), "in.xml")
		if err := os.WriteFile(in, enc(t, true), 0o600); err != nil {
			t.Fatal(err)
		}
		errs, err := x.Batch([]interop.NodeJob{{Op: "decrypt", In: in, Out: in + ".out", Keys: []string{pkiFile("new", "key")}}})
		if err != nil {
			t.Fatal(err)
		}
		if errs[0] == nil {
			t.Fatal("xml-encryption decrypt of a tampered message succeeded, want a failure")
		}
	})
}
