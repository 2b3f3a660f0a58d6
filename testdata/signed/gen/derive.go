package main

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// A mutation turns a WSS4J vector into an attack vector. Mutations edit the
// bytes of the message and leave everything else as WSS4J wrote it, so
// each attack vector differs from its source in one respect.
type mutation struct {
	name   string
	source string
	expect string
	notes  string
	apply  func(msg []byte, src *vector) ([]byte, error)
}

// External is the URI the external-reference vector points at.
const external = "http://attacker.example/statement.xml"

var mutations = []mutation{
	{
		name: "tampered-body", source: attackSource, expect: sigInvalid,
		notes: "The Balance text in the signed Body changed from 12345.67 to 92345.67: the Body's digest no longer matches.",
		apply: func(m []byte, _ *vector) ([]byte, error) { return replaceOnce(m, ">12345.67<", ">92345.67<") },
	},
	{
		name: "tampered-signaturevalue", source: attackSource, expect: sigInvalid,
		notes: "Bit 0x01 of the middle octet of the SignatureValue flipped: every digest matches, the signature over SignedInfo does not verify.",
		apply: tamperSignatureValue,
	},
	{
		name: "wrapped-body", source: attackSource, expect: sigInvalid,
		notes: "Signature wrapping: the signed Body, with its wsu:Id, moved unchanged into a new header block <wrap:Wrapper xmlns:wrap=\"urn:example:wrapping\" soapenv:mustUnderstand=\"0\"> at the end of the Header, and a new Body without an Id holding other content (another IBAN and balance) put in its place. The signature still verifies cryptographically (its Body reference resolves to the moved element), but the Body of the message is not signed.",
		apply: func(m []byte, _ *vector) ([]byte, error) { return wrapBody(m, false) },
	},
	{
		name: "wrapped-body-duplicate-id", source: attackSource, expect: malformed,
		notes: "Signature wrapping as in wrapped-body, but the new Body keeps the wsu:Id of the signed one, so two elements carry the same Id: duplicate Ids are refused before any reference is resolved.",
		apply: func(m []byte, _ *vector) ([]byte, error) { return wrapBody(m, true) },
	},
	{
		name: "two-security-headers", source: attackSource, expect: malformed,
		notes: "A second wsse:Security header for the same (absent) actor, with mustUnderstand and an unsigned Timestamp valid for a year, inserted before the signed one. WS-Security allows one Security header per actor; two for the same actor make it ambiguous which one is processed.",
		apply: twoSecurityHeaders,
	},
	{
		name: "tampered-expires", source: attackSource, expect: sigInvalid,
		notes: "The signed Timestamp's Expires moved one day later, as an attacker extending the message's life would: the Timestamp's digest no longer matches. The sidecar's expires is the tampered value.",
		apply: tamperExpires,
	},
	{
		name: "external-reference", source: attackSource, expect: malformed,
		notes: "The Body's Reference URI replaced by \"" + external + "\" and SignedInfo signed again with receiver's key (by the generator, exclusive C14N with WSS4J's PrefixList, RSA-SHA256), so the SignatureValue is valid and only the reference is wrong. Expected ErrMalformed, not ErrSignatureInvalid: a Reference URI that is not a same-document \"#id\" reference is a property of the message alone, refused while reading SignedInfo, before any digest is computed and without dereferencing anything (the same rule as testdata/attacks/reference-external for encryption). The Body is then also unsigned.",
		apply: externalReference,
	},
	{
		name: "tampered-ciphertext", source: encryptedAttackSource, expect: sigInvalid,
		notes: "Encrypt-then-sign: bit 0x01 of the middle octet of the Body's EncryptedData ciphertext flipped. The signature covers the ciphertext, so verification fails before anything is decrypted: ErrSignatureInvalid, not ErrDecryptionFailed.",
		apply: tamperCiphertext,
	},
}

// wss4jOnDerived is the outcome of WSS4J's engine on each derived vector.
var wss4jOnDerived = map[string]string{
	"tampered-body":             wssInvalid,
	"tampered-signaturevalue":   wssInvalid,
	"wrapped-body":              wssOK,
	"wrapped-body-duplicate-id": wssInvalid,
	"two-security-headers":      "An error was discovered processing the <wsse:Security> header",
	"tampered-expires":          wssInvalid,
	"external-reference":        wssInvalid,
	"tampered-ciphertext":       wssInvalid,
}

func deriveAll(sources map[string]*vector) ([]*vector, error) {
	if err := checkResign(sources[attackSource]); err != nil {
		return nil, err
	}
	var out []*vector
	for _, mu := range mutations {
		src := sources[mu.source]
		if src == nil {
			return nil, fmt.Errorf("%s: no source vector %s", mu.name, mu.source)
		}
		msg, err := os.ReadFile(vectorPath(src.name))
		if err != nil {
			return nil, err
		}
		b, err := mu.apply(msg, src)
		if err != nil {
			return nil, fmt.Errorf("%s_%s: %w", src.name, mu.name, err)
		}
		if bytes.Equal(b, msg) {
			return nil, fmt.Errorf("%s_%s: the mutation changed nothing", src.name, mu.name)
		}
		v := &vector{name: src.name + "_" + mu.name, spec: src.spec, mut: mu.name, facts: src.facts, wss4j: wss4jOnDerived[mu.name]}
		if err := os.WriteFile(vectorPath(v.name), b, 0o644); err != nil {
			return nil, err
		}
		sc := src.sc
		sc.Expect = mu.expect
		sc.ExpectWith = nil
		sc.Notes = fmt.Sprintf("Derived from %s by testdata/signed/gen: %s Security header of the source: %s.",
			src.name, mu.notes, strings.Join(src.facts.headerOrder, ", "))
		if mu.name == "tampered-expires" {
			m := expiresRE.FindSubmatch(b)
			sc.Expires = string(m[1])
		}
		v.sc = sc
		out = append(out, v)
	}
	return out, nil
}

func replaceOnce(msg []byte, old, new string) ([]byte, error) {
	if n := bytes.Count(msg, []byte(old)); n != 1 {
		return nil, fmt.Errorf("%q occurs %d times, want once", old, n)
	}
	return bytes.Replace(msg, []byte(old), []byte(new), 1), nil
}

// findOnce returns the start and end of the only match of re.
func findOnce(msg []byte, re *regexp.Regexp) ([]int, error) {
	all := re.FindAllSubmatchIndex(msg, -1)
	if len(all) != 1 {
		return nil, fmt.Errorf("%s matches %d times, want once", re, len(all))
	}
	return all[0], nil
}

func decodeBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil
	}
	return b
}

var (
	envelopeRE       = regexp.MustCompile(`<([\w.-]+):Envelope[\s>]`)
	signatureValueRE = regexp.MustCompile(`<(?:[\w.-]+:)?SignatureValue>([^<]*)</(?:[\w.-]+:)?SignatureValue>`)
	expiresRE        = regexp.MustCompile(`<(?:[\w.-]+:)?Expires>([^<]*)</(?:[\w.-]+:)?Expires>`)
	securityRE       = regexp.MustCompile(`<([\w.-]+):Security[\s>]`)
)

// editBase64 decodes the first group of the only match of re, lets edit
// change the octets and writes them back. WSS4J writes these values on one
// line; anything else is refused rather than re-laid out.
func editBase64(msg []byte, re *regexp.Regexp, edit func([]byte) []byte) ([]byte, error) {
	loc, err := findOnce(msg, re)
	if err != nil {
		return nil, err
	}
	text := string(msg[loc[2]:loc[3]])
	if strings.ContainsAny(text, " \t\r\n&") {
		return nil, errors.New("base64 value with white space or references")
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(msg[:loc[2]])
	b.WriteString(base64.StdEncoding.EncodeToString(edit(bytes.Clone(raw))))
	b.Write(msg[loc[3]:])
	return b.Bytes(), nil
}

func flipMiddle(b []byte) []byte {
	b[len(b)/2] ^= 0x01
	return b
}

func tamperSignatureValue(msg []byte, _ *vector) ([]byte, error) {
	return editBase64(msg, signatureValueRE, flipMiddle)
}

func tamperCiphertext(msg []byte, _ *vector) ([]byte, error) {
	start := bytes.Index(msg, []byte(":EncryptedData "))
	if start < 0 || bytes.Count(msg, []byte(":EncryptedData ")) != 1 {
		return nil, errors.New("want exactly one EncryptedData")
	}
	out, err := editBase64(msg[start:], regexp.MustCompile(`<(?:[\w.-]+:)?CipherValue>([^<]*)</(?:[\w.-]+:)?CipherValue>`), flipMiddle)
	if err != nil {
		return nil, err
	}
	return append(bytes.Clone(msg[:start]), out...), nil
}

// soapParts locates the Envelope prefix, the Body element and the end tag
// of the Header in a WSS4J message.
func soapParts(msg []byte) (prefix string, bodyStart, bodyStartTagEnd, bodyEnd, headerEnd int, err error) {
	loc, err := findOnce(msg, envelopeRE)
	if err != nil {
		return "", 0, 0, 0, 0, err
	}
	prefix = string(msg[loc[2]:loc[3]])
	bs, err := findOnce(msg, regexp.MustCompile(`<`+regexp.QuoteMeta(prefix)+`:Body[\s>]`))
	if err != nil {
		return "", 0, 0, 0, 0, err
	}
	bodyStart = bs[0]
	bodyStartTagEnd = bodyStart + bytes.IndexByte(msg[bodyStart:], '>') + 1
	be, err := findOnce(msg, regexp.MustCompile(`</`+regexp.QuoteMeta(prefix)+`:Body>`))
	if err != nil {
		return "", 0, 0, 0, 0, err
	}
	bodyEnd = be[1]
	he, err := findOnce(msg, regexp.MustCompile(`</`+regexp.QuoteMeta(prefix)+`:Header>`))
	if err != nil {
		return "", 0, 0, 0, 0, err
	}
	headerEnd = he[0]
	if !(headerEnd < bodyStart) {
		return "", 0, 0, 0, 0, errors.New("Header does not come before Body")
	}
	return prefix, bodyStart, bodyStartTagEnd, bodyEnd, headerEnd, nil
}

// wrapBody moves the signed Body into a wrap:Wrapper header block and puts
// a Body with other content in its place; with keepID the new Body keeps
// the signed one's start tag, wsu:Id included.
func wrapBody(msg []byte, keepID bool) ([]byte, error) {
	prefix, bs, bst, be, he, err := soapParts(msg)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(msg[bs:bst], []byte("wsu:Id=")) {
		return nil, errors.New("the Body has no wsu:Id")
	}
	signedBody := msg[bs:be]
	forged := bytes.Clone(msg[bst:be])
	for _, r := range [][2]string{
		{"DE89 3704 0044 0532 0130 00", "DE44 5001 0517 5407 3249 31"},
		{">12345.67<", ">98765.43<"},
	} {
		if forged, err = replaceOnce(forged, r[0], r[1]); err != nil {
			return nil, err
		}
	}
	startTag := "<" + prefix + ":Body>"
	if keepID {
		startTag = string(msg[bs:bst])
	}
	var b bytes.Buffer
	b.Write(msg[:he])
	fmt.Fprintf(&b, `<wrap:Wrapper xmlns:wrap="urn:example:wrapping" %s:mustUnderstand="0">`, prefix)
	b.Write(signedBody)
	b.WriteString("</wrap:Wrapper>")
	b.Write(msg[he:bs])
	b.WriteString(startTag)
	b.Write(forged)
	b.Write(msg[be:])
	return b.Bytes(), nil
}

func twoSecurityHeaders(msg []byte, src *vector) ([]byte, error) {
	env, err := findOnce(msg, envelopeRE)
	if err != nil {
		return nil, err
	}
	prefix := string(msg[env[2]:env[3]])
	sec, err := findOnce(msg, securityRE)
	if err != nil {
		return nil, err
	}
	created, err := time.Parse(time.RFC3339Nano, src.facts.created)
	if err != nil {
		return nil, err
	}
	const layout = "2006-01-02T15:04:05.000Z"
	extra := `<wsse:Security xmlns:wsse="` + nsWSSE + `" xmlns:wsu="` + nsWSU + `" ` + prefix + `:mustUnderstand="1">` +
		`<wsu:Timestamp wsu:Id="TS-second-header"><wsu:Created>` + created.UTC().Format(layout) + `</wsu:Created>` +
		`<wsu:Expires>` + created.UTC().AddDate(1, 0, 0).Format(layout) + `</wsu:Expires></wsu:Timestamp></wsse:Security>`
	var b bytes.Buffer
	b.Write(msg[:sec[0]])
	b.WriteString(extra)
	b.Write(msg[sec[0]:])
	return b.Bytes(), nil
}

func tamperExpires(msg []byte, _ *vector) ([]byte, error) {
	loc, err := findOnce(msg, expiresRE)
	if err != nil {
		return nil, err
	}
	const layout = "2006-01-02T15:04:05.000Z"
	old := string(msg[loc[2]:loc[3]])
	t, err := time.Parse(layout, old)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(msg[:loc[2]])
	b.WriteString(t.Add(24 * time.Hour).Format(layout))
	b.Write(msg[loc[3]:])
	return b.Bytes(), nil
}

func externalReference(msg []byte, src *vector) ([]byte, error) {
	if src.facts.bodyID == "" {
		return nil, errors.New("the source does not sign the Body")
	}
	out, err := replaceOnce(msg, `URI="#`+src.facts.bodyID+`"`, `URI="`+external+`"`)
	if err != nil {
		return nil, err
	}
	return resign(out, pkiFile(src.spec.signer, "key"))
}

// checkResign makes sure resign reproduces WSS4J's own SignatureValue for
// an unchanged message (RSA PKCS #1 v1.5 is deterministic), so a re-signed
// vector differs from a WSS4J one only in what was changed.
func checkResign(src *vector) error {
	if src.spec.sigAlg != "rsa-sha256" {
		return fmt.Errorf("%s: re-signing needs rsa-sha256", src.name)
	}
	msg, err := os.ReadFile(vectorPath(src.name))
	if err != nil {
		return err
	}
	again, err := resign(msg, pkiFile(src.spec.signer, "key"))
	if err != nil {
		return err
	}
	if !bytes.Equal(again, msg) {
		return fmt.Errorf("%s: signing SignedInfo again does not reproduce WSS4J's SignatureValue", src.name)
	}
	return nil
}

// resign computes the rsa-sha256 SignatureValue over the message's
// SignedInfo (exclusive C14N with the PrefixList of its
// CanonicalizationMethod) and writes it in place of the old one.
func resign(msg []byte, keyFile string) ([]byte, error) {
	m, err := parseMessage(msg)
	if err != nil {
		return nil, err
	}
	si, err := child(m.sig, nsDSig, "SignedInfo")
	if err != nil {
		return nil, err
	}
	cm, err := child(si, nsDSig, "CanonicalizationMethod")
	if err != nil {
		return nil, err
	}
	if a := cm.SelectAttrValue("Algorithm", ""); a != nsExcC14 {
		return nil, fmt.Errorf("canonicalization %s", a)
	}
	prefixes := ""
	if inc := children(cm, nsExcC14, "InclusiveNamespaces"); len(inc) == 1 {
		prefixes = inc[0].SelectAttrValue("PrefixList", "")
	}
	if a, _ := algorithm(si, nsDSig, "SignatureMethod"); a != signatureMethods["rsa-sha256"] {
		return nil, fmt.Errorf("signature method %s", a)
	}
	ctx, err := etreeutils.NSBuildParentContext(si)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(ctx, si)
	if err != nil {
		return nil, err
	}
	c14n, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixes).Canonicalize(detached)
	if err != nil {
		return nil, err
	}
	key, err := readRSAKey(keyFile)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(c14n)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, err
	}
	return editBase64(msg, signatureValueRE, func([]byte) []byte { return sig })
}

func readRSAKey(file string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PKCS #8 PEM key", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", file)
	}
	return rk, nil
}
