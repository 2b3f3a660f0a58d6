package interop

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

// XMLSec1Version is the xmlsec1 release the Debian package provides.
const XMLSec1Version = "1.2.37"

// XMLSec1Tool is the xmlsec1 command line tool.
func XMLSec1Tool() Tool { return Executable("xmlsec1", "apt-get install xmlsec1") }

// XMLSec1 runs the xmlsec1 command line tool found at Path.
type XMLSec1 struct {
	Path string
}

// XMLSec1Template holds the values for the EncryptedData template
// testdata/interop/xmlsec/encrypted-data.tmpl.xml. The template puts the
// EncryptedKey inside EncryptedData/ds:KeyInfo, the only place the xmlsec1
// command line tool can fill one.
type XMLSec1Template struct {
	ID, KeyID     string // Id attributes of EncryptedData and EncryptedKey
	Type          string // EncryptedData Type URI
	Data          string // data encryption URI
	KeyTransport  string // key transport URI
	Digest        string // OAEP DigestMethod URI, optional
	MGF           string // xmlenc11 MGF URI, optional
	OAEPParams    string // base64 OAEP label, optional
	KeyIdentifier string // x509cert, issuerserial, ski, subjectname, keyname, keyvalue, x509digest or none
	// X509Digest and X509DigestAlgorithm are the base64 digest of the
	// recipient's certificate and its DigestMethod URI, for KeyIdentifier
	// x509digest: xmlsec1 1.2 does not compute dsig11:X509Digest itself.
	X509Digest, X509DigestAlgorithm string
	// OtherRecipient, if set, is the key name of a second recipient: an
	// EncryptedKey for it, named by ds:KeyName, comes before the one for
	// the recipient, both in EncryptedData/ds:KeyInfo.
	OtherRecipient string
}

// RenderTemplate executes the Go text/template in file with data.
func RenderTemplate(file string, data any) ([]byte, error) {
	t, err := template.ParseFiles(file)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SessionKey returns the xmlsec1 --session-key value for a data encryption URI.
func SessionKey(dataURI string) (string, error) {
	frag := dataURI[strings.LastIndexByte(dataURI, '#')+1:]
	switch {
	case strings.HasPrefix(frag, "aes128"):
		return "aes-128", nil
	case strings.HasPrefix(frag, "aes192"):
		return "aes-192", nil
	case strings.HasPrefix(frag, "aes256"):
		return "aes-256", nil
	case frag == "tripledes-cbc":
		return "des-192", nil
	}
	return "", fmt.Errorf("interop: no xmlsec1 session key for %s", dataURI)
}

// XMLSec1Encrypt describes one run of xmlsec1 --encrypt.
type XMLSec1Encrypt struct {
	Template   string // EncryptedData template file
	XMLData    string // the envelope to encrypt a node of
	Node       string // --node-name value: [namespace-uri:]name
	Cert       string // recipient certificate, PEM
	CertName   string // key name, written into ds:KeyName
	SessionKey string // see [SessionKey]
	Out        string
	// OtherCert and OtherCertName load a second recipient's certificate
	// under its key name, for XMLSec1Template.OtherRecipient.
	OtherCert, OtherCertName string
}

// Encrypt runs xmlsec1 --encrypt. The error holds xmlsec1's own messages.
func (x XMLSec1) Encrypt(e XMLSec1Encrypt) error {
	certOpt := "--pubkey-cert-pem"
	if e.CertName != "" {
		certOpt += ":" + e.CertName
	}
	args := []string{"--encrypt", certOpt, e.Cert}
	if e.OtherCert != "" {
		args = append(args, "--pubkey-cert-pem:"+e.OtherCertName, e.OtherCert)
	}
	args = append(args, "--session-key", e.SessionKey,
		"--xml-data", e.XMLData, "--node-name", e.Node, "--output", e.Out, e.Template)
	return x.run(args)
}

func (x XMLSec1) run(args []string) error {
	cmd := exec.Command(x.Path, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("xmlsec1 %s: %v: %s", args[0], err, summary(string(out)))
	}
	return nil
}

// Decrypt runs xmlsec1 --decrypt over msg with the given keys until no
// EncryptedData is left: the tool decrypts the first EncryptedData of a
// document per run. trusted is the CA certificate (PEM) that issued the
// keys' certificates, or "" if none. The error holds xmlsec1's own messages.
func (x XMLSec1) Decrypt(msg []byte, keys []KeyPair, trusted string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "wsrenew-xmlsec1-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for i := 0; ; i++ {
		if !encryptedData.Match(msg) {
			if i == 0 {
				return nil, fmt.Errorf("xmlsec1 --decrypt: no EncryptedData in message")
			}
			return msg, nil
		}
		if i == 16 {
			return nil, fmt.Errorf("xmlsec1 --decrypt: EncryptedData left after %d runs", i)
		}
		in := filepath.Join(dir, fmt.Sprintf("in%d.xml", i))
		out := filepath.Join(dir, fmt.Sprintf("out%d.xml", i))
		if err := os.WriteFile(in, msg, 0o600); err != nil {
			return nil, err
		}
		args := []string{"--decrypt"}
		for _, k := range keys {
			args = append(args, "--privkey-pem", k.Key+","+k.Cert)
		}
		if trusted != "" {
			args = append(args, "--trusted-pem", trusted)
		}
		args = append(args, "--output", out, in)
		if err := x.run(args); err != nil {
			return nil, err
		}
		if msg, err = os.ReadFile(out); err != nil {
			return nil, err
		}
	}
}

var encryptedData = regexp.MustCompile(`<([\w.-]+:)?EncryptedData[\s/>]`)

// summary keeps the first line of xmlsec1's error trace, which names the
// cause, and its last line, which names the operation.
func summary(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) <= 2 {
		return strings.Join(lines, " | ")
	}
	return lines[0] + " | ... | " + lines[len(lines)-1]
}
