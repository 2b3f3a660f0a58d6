package c14n

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/interop"
)

// TestCanonicalize_xmlsec1 has xmlsec1 (libxml2's canonicalizers) sign a
// document whose referenced element exercises what canonical forms
// differ in — namespaces declared above it, unused, redeclared and
// undeclared, the xml: attributes of its ancestors, comments, CDATA,
// escaping, non-ASCII text — once per method, and checks the Reference's
// DigestValues (of that element and of its prefixed parent, where a
// PrefixList's #default matters) and the signature over SignedInfo with
// this package's
// output. Unlike goxmldsig, xmlsec1 implements Canonical XML's
// inheritance of xml: attributes. The methods with comments are given
// the reference #xpointer(id('body')): a bare-name reference "#body"
// drops comments whatever the method (XML Signature 1.1, 4.4.3.3). The
// exclusive methods are checked from the bytes ([CanonicalizeBytes]) too.
func TestCanonicalize_xmlsec1(t *testing.T) {
	xmlsec1 := interop.Require(t, interop.XMLSec1Tool())[0]
	t.Parallel()
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "xmlsec1.tmpl.xml"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join("..", "testpki", "pki", "receiver.key")
	pub := publicKey(t, filepath.Join("..", "testpki", "pki", "receiver.pem"))
	tests := []struct {
		name, transform, prefixes string
	}{
		{"exclusive", ExclusiveURI, ""},
		{"exclusive with comments", ExclusiveWithCommentsURI, ""},
		{"exclusive with prefix list", ExclusiveURI, "b unused #default"},
		{"exclusive with default in the prefix list", ExclusiveURI, "#default"},
		{"exclusive with comments and prefix list", ExclusiveWithCommentsURI, "a c"},
		{"inclusive 1.0", Inclusive10URI, ""},
		{"inclusive 1.0 with comments", Inclusive10WithCommentsURI, ""},
		{"inclusive 1.1", Inclusive11URI, ""},
		{"inclusive 1.1 with comments", Inclusive11WithCommentsURI, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var in bytes.Buffer
			uri, wrapURI := "#body", "#wrap"
			if strings.HasSuffix(tc.transform, "#WithComments") {
				uri, wrapURI = "#xpointer(id('body'))", "#xpointer(id('wrap'))"
			}
			if err := tmpl.Execute(&in, struct{ URI, WrapURI, Transform, PrefixList string }{uri, wrapURI, tc.transform, tc.prefixes}); err != nil {
				t.Fatal(err)
			}
			src, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.xml")
			if err := os.WriteFile(src, in.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(xmlsec1, "--sign", "--privkey-pem", keyFile, "--id-attr:Id", "urn:default:target", "--id-attr:Id", "urn:a:wrapper", "--output", out, src)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("xmlsec1 --sign: %v\n%s", err, msg)
			}
			signed, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(signed); err != nil {
				t.Fatal(err)
			}
			si := doc.FindElement("//SignedInfo")
			digests := doc.FindElements("//DigestValue")
			if si == nil || len(digests) != 2 {
				t.Fatalf("xmlsec1 output lacks SignedInfo or a DigestValue:\n%s", signed)
			}
			m, _ := MethodFor(tc.transform)
			for i, id := range []string{"body", "wrap"} {
				el := doc.FindElement("//[@Id='" + id + "']")
				h := sha256.New()
				if _, err := Canonicalize(h, el, Options{Method: m, InclusivePrefixes: tc.prefixes}); err != nil {
					t.Fatal(err)
				}
				want := strings.TrimSpace(digests[i].Text())
				if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
					var b bytes.Buffer
					Canonicalize(&b, el, Options{Method: m, InclusivePrefixes: tc.prefixes})
					t.Fatalf("digest of the canonical form of #%s = %s, xmlsec1 %s; canonical form:\n%s", id, got, want, b.String())
				}
				if !m.Exclusive {
					continue
				}
				// The same from the bytes xmlsec1 wrote.
				n := slices.Index(elementsOf(doc), el)
				h.Reset()
				if _, _, err := CanonicalizeBytes(h, signed, n, qnameOf(el), Options{Method: m, InclusivePrefixes: tc.prefixes}, 0); err != nil {
					t.Fatalf("CanonicalizeBytes(#%s) error = %v", id, err)
				}
				if got := base64.StdEncoding.EncodeToString(h.Sum(nil)); got != want {
					t.Fatalf("digest of the canonical form of #%s from the bytes = %s, xmlsec1 %s", id, got, want)
				}
			}
			sig, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.FindElement("//SignatureValue").Text()), ""))
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			if _, err := Canonicalize(h, si, Options{Method: Method{Exclusive: true}}); err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h.Sum(nil), sig); err != nil {
				t.Fatalf("signature over the canonical SignedInfo: %v", err)
			}
		})
	}
}

func publicKey(t *testing.T, file string) *rsa.PublicKey {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("%s: not an RSA key", file)
	}
	return pub
}
