package main

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A mutation turns a positive vector into a negative one. Mutations edit the
// bytes of the message in place and leave everything else as the producer
// wrote it, so each negative vector differs from its source in one respect.
type mutation struct {
	name   string
	expect string
	notes  string
	apply  func(msg []byte) ([]byte, error)
	mgf    string // the xenc11:MGF the mutation adds, for the sidecar
}

var mutations = map[string]mutation{
	"flip-encryptedkey": {
		name: "flip-encryptedkey", expect: failed,
		notes: "One bit flipped (0x01) in the middle byte of the EncryptedKey's ciphertext: RSA-OAEP decoding fails.",
		apply: func(m []byte) ([]byte, error) { return editCipherValue(m, "EncryptedKey", flipMiddle) },
	},
	"flip-encrypteddata": {
		name: "flip-encrypteddata", expect: failed,
		notes: "One bit flipped in the first EncryptedData's ciphertext: for GCM in the middle byte (the tag check fails); for CBC bit 0x80 of the last byte of the next-to-last block, which turns the last plaintext byte (the pad length) into a value above the block size.",
		apply: func(m []byte) ([]byte, error) { return editCipherValue(m, "EncryptedData", flipData) },
	},
	"truncate-encrypteddata": {
		name: "truncate-encrypteddata", expect: failed,
		notes: "The last 48 bytes (three AES blocks) of the first EncryptedData's ciphertext removed; the base64 stays valid and CBC stays block-aligned. GCM: the tag check fails. CBC: the pad length or the XML of the plaintext is broken. A failure after the key was used: ErrDecryptionFailed.",
		apply: func(m []byte) ([]byte, error) { return editCipherValue(m, "EncryptedData", truncate(48)) },
	},
	"truncate-encryptedkey": {
		name: "truncate-encryptedkey", expect: failed,
		notes: "The last 3 bytes of the EncryptedKey's ciphertext removed; the base64 stays valid. RFC 8017 (RSAES-OAEP-DECRYPT step 1) makes a ciphertext of the wrong length a \"decryption error\": ErrDecryptionFailed.",
		apply: func(m []byte) ([]byte, error) { return editCipherValue(m, "EncryptedKey", truncate(3)) },
	},
	"badbase64-encryptedkey": {
		name: "badbase64-encryptedkey", expect: malformed,
		notes: "The EncryptedKey's CipherValue cut to a length that leaves one base64 character in the last group, so it is not base64Binary and cannot decode. That is a property of the message alone, detectable before any key is used: ErrMalformed.",
		apply: func(m []byte) ([]byte, error) { return editCipherText(m, "EncryptedKey", badBase64) },
	},
	"badbase64-encrypteddata": {
		name: "badbase64-encrypteddata", expect: malformed,
		notes: "The first EncryptedData's CipherValue cut to a length that leaves one base64 character in the last group, so it is not base64Binary and cannot decode. That is a property of the message alone, detectable before any key is used: ErrMalformed.",
		apply: func(m []byte) ([]byte, error) { return editCipherText(m, "EncryptedData", badBase64) },
	},
	"dangling-reference": {
		name: "dangling-reference", expect: malformed,
		notes: "The first xenc:DataReference points at an Id that no element has.",
		apply: danglingReference,
	},
	// xmlsec 1.3 writes an xenc11:MGF element inside an rsa-oaep-mgf1p
	// EncryptionMethod; the 1.2.37 installed here refuses to, so the
	// element is added to 1.2.37's output. The key was wrapped with MGF1
	// SHA-1, which is what rsa-oaep-mgf1p means.
	"mgf1sha1-under-mgf1p": {
		name: "mgf1sha1-under-mgf1p", expect: ok, mgf: xenc11 + "mgf1sha1",
		notes: "An xenc11:MGF naming MGF1 with SHA-1 added inside the rsa-oaep-mgf1p EncryptionMethod, as xmlsec 1.3 writes it: it restates what the algorithm fixes and must be accepted.",
		apply: func(m []byte) ([]byte, error) { return addMGF(m, xenc11+"mgf1sha1") },
	},
	"mgf1sha256-under-mgf1p": {
		name: "mgf1sha256-under-mgf1p", expect: "ErrAlgorithmNotAllowed", mgf: xenc11 + "mgf1sha256",
		notes: "An xenc11:MGF naming MGF1 with SHA-256 added inside the rsa-oaep-mgf1p EncryptionMethod: it contradicts the algorithm, which fixes MGF1 with SHA-1; refused before any key is used.",
		apply: func(m []byte) ([]byte, error) { return addMGF(m, xenc11+"mgf1sha256") },
	},
	// No tool installed here writes one EncryptedKey per recipient in a
	// Security header (the xmlsec1 command line cannot fill a header
	// EncryptedKey). These move the two keys xmlsec1 wrapped for the
	// stranger and for us out of the EncryptedData's KeyInfo, unchanged
	// but for namespace declarations, into a new Security header.
	"recipients-in-security-header": {
		name: "recipients-in-security-header", expect: ok,
		notes: "Both EncryptedKeys (the stranger's first) moved into a new wsse:Security header, each with a ReferenceList naming the EncryptedData, whose KeyInfo is removed: the one for a ring key is used.",
		apply: recipientsToHeader(false),
	},
	"recipients-share-reference-list": {
		name: "recipients-share-reference-list", expect: ok,
		notes: "Both EncryptedKeys (the stranger's first) moved into a new wsse:Security header without ReferenceLists of their own, followed by one standalone ReferenceList naming the EncryptedData, whose KeyInfo is removed: the one for a ring key is used.",
		apply: recipientsToHeader(true),
	},
	"two-security-headers": {
		name: "two-security-headers", expect: malformed,
		notes: "A second wsse:Security header for the same actor (none), holding a wsu:Timestamp, inserted before the first.",
		apply: twoSecurityHeaders,
	},
}

// derivations lists, for each source vector, the mutations applied to it.
var derivations = []struct {
	source    string
	mutations []string
}{
	{"wss4j_soap11_oaep-mgf1p_aes256-cbc_issuerserial_new", []string{
		"flip-encryptedkey", "flip-encrypteddata", "truncate-encrypteddata", "truncate-encryptedkey",
		"badbase64-encryptedkey", "badbase64-encrypteddata", "dangling-reference", "two-security-headers"}},
	{"wss4j_soap12_oaep-mgf1p_aes256-gcm_issuerserial_old", []string{
		"flip-encryptedkey", "flip-encrypteddata", "truncate-encrypteddata", "dangling-reference", "two-security-headers"}},
	{"wss4j_soap11_oaep-mgf1p_aes128-gcm_bst_header_new", []string{"flip-encrypteddata"}},
	{"xmlsec1_soap11_oaep-mgf1p_aes256-cbc_x509cert_new", []string{
		"flip-encryptedkey", "flip-encrypteddata", "truncate-encrypteddata", "badbase64-encrypteddata"}},
	{"xmlsec1_soap11_oaep-mgf1p_aes128-gcm_issuerserial_secheader_new", []string{"dangling-reference", "two-security-headers"}},
	{"xmlenc_soap11_oaep-mgf1p_aes128-gcm_x509cert_element_old", []string{"flip-encryptedkey", "flip-encrypteddata"}},
	{"xmlsec1_soap11_oaep-mgf1p_aes256-cbc_x509cert_new", []string{"mgf1sha1-under-mgf1p", "mgf1sha256-under-mgf1p"}},
	{"xmlsec1_soap11_oaep-mgf1p_aes256-gcm_issuerserial_two-recipients_old", []string{"recipients-in-security-header", "recipients-share-reference-list"}},
}

// addMGF puts an xenc11:MGF element with the given Algorithm into the
// first rsa-oaep-mgf1p EncryptionMethod, which xmlsec1 writes empty.
func addMGF(m []byte, alg string) ([]byte, error) {
	re := regexp.MustCompile(`<xenc:EncryptionMethod Algorithm="` + regexp.QuoteMeta(xenc+"rsa-oaep-mgf1p") + `"\s*/>`)
	loc := re.FindIndex(m)
	if loc == nil {
		return nil, errors.New("no empty rsa-oaep-mgf1p EncryptionMethod")
	}
	el := `<xenc:EncryptionMethod Algorithm="` + xenc + `rsa-oaep-mgf1p"><xenc11:MGF xmlns:xenc11="` + xenc11 + `" Algorithm="` + alg + `"/></xenc:EncryptionMethod>`
	return append(append(append([]byte(nil), m[:loc[0]]...), el...), m[loc[1]:]...), nil
}

func deriveAll() error {
	n := 0
	for _, d := range derivations {
		src, err := os.ReadFile(filepath.Join(vectorsDir, d.source+".xml"))
		if err != nil {
			return err
		}
		sc, err := readSidecar(d.source)
		if err != nil {
			return err
		}
		if sc.Expect != ok {
			return fmt.Errorf("%s: derive only from vectors that decrypt", d.source)
		}
		for _, mn := range d.mutations {
			m, found := mutations[mn]
			if !found {
				return fmt.Errorf("unknown mutation %s", mn)
			}
			out, err := m.apply(src)
			if err != nil {
				return fmt.Errorf("%s %s: %w", d.source, mn, err)
			}
			if bytes.Equal(out, src) {
				return fmt.Errorf("%s %s: no change", d.source, mn)
			}
			name := d.source + "_" + mn
			if err := os.WriteFile(filepath.Join(vectorsDir, name+".xml"), out, 0o644); err != nil {
				return err
			}
			neg := sc
			neg.Expect = m.expect
			neg.Policy = nil
			neg.ExpectWithPolicy = ""
			neg.DerivedFrom = d.source + ".xml"
			neg.Mutation = m.name
			neg.Notes = m.notes
			if m.mgf != "" {
				neg.MGF = m.mgf
			}
			if err := writeSidecar(name, neg); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Fprintf(os.Stderr, "gen: %d negative vectors derived\n", n)
	return nil
}

// span is the byte range of a CipherValue's text in a message.
type span struct{ start, end int }

// cipherValue finds the text of the first CipherValue whose grandparent
// has the local name owner (EncryptedKey or EncryptedData), and the
// Algorithm of the owner's EncryptionMethod.
func cipherValue(msg []byte, owner string) (span, string, error) {
	d := xml.NewDecoder(bytes.NewReader(msg))
	var stack []string
	alg := map[int]string{} // depth of an owner -> its algorithm
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			return span{}, "", fmt.Errorf("no CipherValue in an %s", owner)
		}
		if err != nil {
			return span{}, "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			n := len(stack)
			if t.Name.Local == "EncryptionMethod" && n >= 2 && stack[n-2] == owner {
				for _, a := range t.Attr {
					if a.Name.Local == "Algorithm" {
						alg[n-2] = a.Value
					}
				}
			}
			if t.Name.Local == "CipherValue" && n >= 3 && stack[n-2] == "CipherData" && stack[n-3] == owner {
				start := int(d.InputOffset())
				if _, err := d.RawToken(); err != nil {
					return span{}, "", err
				}
				end := int(d.InputOffset())
				if !bytes.HasPrefix(msg[end:], []byte("</")) {
					return span{}, "", errors.New("CipherValue text is not followed by its end tag")
				}
				return span{start, end}, alg[n-3], nil
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// editCipherValue decodes the CipherValue, lets edit change the octets, and
// writes them back in base64 laid out like the original (same line breaks).
func editCipherValue(msg []byte, owner string, edit func(ct []byte, alg string) ([]byte, error)) ([]byte, error) {
	return editCipherText(msg, owner, func(b64, alg string) (string, error) {
		ct, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return "", err
		}
		ct, err = edit(ct, alg)
		if err != nil {
			return "", err
		}
		return base64.StdEncoding.EncodeToString(ct), nil
	})
}

// editCipherText hands the CipherValue's base64 without white space to edit
// and puts the result back with the original's white space.
func editCipherText(msg []byte, owner string, edit func(b64, alg string) (string, error)) ([]byte, error) {
	sp, alg, err := cipherValue(msg, owner)
	if err != nil {
		return nil, err
	}
	orig := string(msg[sp.start:sp.end])
	compact := strings.Join(strings.Fields(orig), "")
	out, err := edit(compact, alg)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(msg[:sp.start])
	b.WriteString(relayout(orig, out))
	b.Write(msg[sp.end:])
	return b.Bytes(), nil
}

// relayout writes text into the layout of orig: white space where orig has
// it, text characters where orig has non-space ones; leftover text goes at
// the end, before orig's trailing white space.
func relayout(orig, text string) string {
	var b strings.Builder
	trail := len(orig) - len(strings.TrimRight(orig, " \t\r\n"))
	body := orig[:len(orig)-trail]
	i := 0
	for _, c := range body {
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			if i < len(text) {
				b.WriteRune(c)
			}
			continue
		}
		if i < len(text) {
			b.WriteByte(text[i])
			i++
		}
	}
	b.WriteString(text[i:])
	b.WriteString(orig[len(orig)-trail:])
	return b.String()
}

func flipMiddle(ct []byte, _ string) ([]byte, error) {
	out := bytes.Clone(ct)
	out[len(out)/2] ^= 0x01
	return out, nil
}

func flipData(ct []byte, alg string) ([]byte, error) {
	out := bytes.Clone(ct)
	if strings.HasSuffix(alg, "-cbc") {
		bs := 16
		if strings.HasSuffix(alg, "tripledes-cbc") {
			bs = 8
		}
		if len(out) < 3*bs || len(out)%bs != 0 {
			return nil, fmt.Errorf("CBC ciphertext of %d bytes", len(out))
		}
		out[len(out)-bs-1] ^= 0x80
		return out, nil
	}
	if !strings.HasSuffix(alg, "-gcm") {
		return nil, fmt.Errorf("unexpected algorithm %q", alg)
	}
	out[len(out)/2] ^= 0x01
	return out, nil
}

func truncate(n int) func([]byte, string) ([]byte, error) {
	return func(ct []byte, _ string) ([]byte, error) {
		if len(ct) < n+32 {
			return nil, fmt.Errorf("ciphertext of %d bytes too short to truncate by %d", len(ct), n)
		}
		return ct[:len(ct)-n], nil
	}
}

func badBase64(b64, _ string) (string, error) {
	s := strings.TrimRight(b64, "=")
	n := len(s) - 3
	for n%4 != 1 {
		n--
	}
	if n < 5 {
		return "", errors.New("CipherValue too short")
	}
	return s[:n], nil
}

var dataReference = regexp.MustCompile(`(DataReference\s+URI=")#[^"]*(")`)

func danglingReference(msg []byte) ([]byte, error) {
	loc := dataReference.FindSubmatchIndex(msg)
	if loc == nil {
		return nil, errors.New("no DataReference")
	}
	var b bytes.Buffer
	b.Write(msg[:loc[3]])
	b.WriteString("#ED-no-such-element")
	b.Write(msg[loc[4]:])
	return b.Bytes(), nil
}

var (
	securityStart = regexp.MustCompile(`<([\w.-]+):Security[\s>]`)
	envelopeStart = regexp.MustCompile(`<([\w.-]+):Envelope[\s>]`)
)

func twoSecurityHeaders(msg []byte) ([]byte, error) {
	loc := securityStart.FindIndex(msg)
	env := envelopeStart.FindSubmatch(msg)
	if loc == nil || env == nil {
		return nil, errors.New("no Security header or no prefixed Envelope")
	}
	mu := "1"
	if bytes.Contains(msg, []byte(nsSOAP12)) {
		mu = "true"
	}
	extra := `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ` +
		`xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" ` +
		string(env[1]) + `:mustUnderstand="` + mu + `">` +
		`<wsu:Timestamp wsu:Id="TS-second-header"><wsu:Created>2024-03-05T08:15:00Z</wsu:Created>` +
		`<wsu:Expires>2024-03-05T08:20:00Z</wsu:Expires></wsu:Timestamp></wsse:Security>`
	var b bytes.Buffer
	b.Write(msg[:loc[0]])
	b.WriteString(extra)
	b.Write(msg[loc[0]:])
	return b.Bytes(), nil
}

var (
	encryptedKeyRE = regexp.MustCompile(`(?s)<xenc:EncryptedKey Id="[^"]*"[^>]*>.*?</xenc:EncryptedKey>`)
	emptyKeyInfoRE = regexp.MustCompile(`(?s)\s*<ds:KeyInfo xmlns:ds="[^"]*">\s*</ds:KeyInfo>`)
	headerStartRE  = regexp.MustCompile(`<([\w.-]+):Header(\s[^>]*)?>`)
)

// recipientsToHeader moves the EncryptedKeys out of the EncryptedData's
// KeyInfo into a new Security header: each with a ReferenceList naming the
// EncryptedData, or (shared) all followed by one standalone ReferenceList.
func recipientsToHeader(shared bool) func([]byte) ([]byte, error) {
	return func(m []byte) ([]byte, error) {
		eks := encryptedKeyRE.FindAll(m, -1)
		if len(eks) != 2 {
			return nil, fmt.Errorf("%d EncryptedKeys, want 2", len(eks))
		}
		out := m
		for _, ek := range eks {
			out = bytes.Replace(out, ek, nil, 1)
		}
		if out = emptyKeyInfoRE.ReplaceAll(out, nil); bytes.Contains(out, []byte("<ds:KeyInfo")) {
			return nil, errors.New("the EncryptedData's KeyInfo holds more than the keys")
		}
		hdr := headerStartRE.FindSubmatchIndex(out)
		if hdr == nil {
			return nil, errors.New("no Header start tag")
		}
		prefix := string(out[hdr[2]:hdr[3]])
		mu := "1"
		if bytes.Contains(m, []byte(nsSOAP12)) {
			mu = "true"
		}
		list := `<xenc:ReferenceList><xenc:DataReference URI="#ED-1"/></xenc:ReferenceList>`
		var b bytes.Buffer
		b.Write(out[:hdr[1]])
		b.WriteString(`<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" ` +
			prefix + `:mustUnderstand="` + mu + `">`)
		for _, ek := range eks {
			ek = bytes.Replace(ek, []byte("<xenc:EncryptedKey "), []byte(`<xenc:EncryptedKey xmlns:xenc="`+xenc+`" xmlns:ds="`+dsig+`" `), 1)
			if !shared {
				ek = bytes.Replace(ek, []byte("</xenc:EncryptedKey>"), []byte(list+"</xenc:EncryptedKey>"), 1)
			}
			b.Write(ek)
		}
		if shared {
			b.WriteString(strings.Replace(list, "<xenc:ReferenceList>", `<xenc:ReferenceList xmlns:xenc="`+xenc+`">`, 1))
		}
		b.WriteString("</wsse:Security>")
		b.Write(out[hdr[1]:])
		return b.Bytes(), nil
	}
}
