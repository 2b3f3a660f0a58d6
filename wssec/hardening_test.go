package wssec_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/internal/xmlenc"
	"github.com/wsrenew/wsrenew/wssec"
)

// countingKey counts the private-key operations done through it.
type countingKey struct {
	crypto.Decrypter
	n *atomic.Int64
}

func (k countingKey) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	k.n.Add(1)
	return k.Decrypter.Decrypt(r, msg, opts)
}

// TestDecrypt_keyOperationBudget: trial decryption counts against
// MaxKeyOperations, and a message asking for more operations than allowed
// is refused before the first.
func TestDecrypt_keyOperationBudget(t *testing.T) {
	t.Parallel()
	var ops atomic.Int64
	count := func(k wssec.Key) wssec.Key { k.Decrypter = countingKey{k.Decrypter, &ops}; return k }
	// Four keys that do not fit, then the one that does.
	ring := wssec.NewKeyRing(count(keyOf(newID)))
	for _, id := range []testpki.Identity{strangerID, testpki.Load(testpki.Receiver), testpki.Load(testpki.CA), oldID} {
		if err := ring.Retain(count(keyOf(id)), t0); err != nil {
			t.Fatal(err)
		}
	}
	msg := edit(t, encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response11.xml")), stripKeyInfo)

	_, err := (&wssec.Decryptor{Keys: ring}).Decrypt(msg)
	if err != wssec.ErrDecryptionFailed || ops.Load() != 4 { //nolint:errorlint
		t.Fatalf("Decrypt with the default budget: error = %v after %d key operations, want ErrDecryptionFailed after 4", err, ops.Load())
	}
	ops.Store(0)
	if _, err := (&wssec.Decryptor{Keys: ring, Policy: wssec.Policy{MaxKeyOperations: 8}}).Decrypt(msg); err != nil || ops.Load() != 5 {
		t.Fatalf("Decrypt with budget 8: error = %v after %d key operations, want success after 5", err, ops.Load())
	}

	// Three EncryptedKeys, budget two: refused before any operation.
	ops.Store(0)
	three := encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EmbedEncryptedKey: true, EncryptElement: true}, threeParts(t))
	_, err = (&wssec.Decryptor{Keys: ring, Policy: wssec.Policy{MaxKeyOperations: 2}}).Decrypt(three)
	if !errors.Is(err, wssec.ErrLimitExceeded) || ops.Load() != 0 {
		t.Fatalf("Decrypt(3 keys, budget 2) error = %v after %d key operations, want ErrLimitExceeded after 0", err, ops.Load())
	}
}

// threeParts returns a response whose Body has three child elements.
func threeParts(t testing.TB) []byte {
	return bytes.Replace(readTestdata(t, "response12.xml"), []byte("<tns:Trailer>done</tns:Trailer>"), []byte("<tns:A/><tns:B/>"), 1)
}

// endless is a reader of spaces that counts what was read from it.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestDecryptReader(t *testing.T) {
	t.Parallel()
	msg := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response11.xml"))
	d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: wssec.Policy{MaxMessageBytes: int64(len(msg))}}
	if _, err := d.DecryptReader(bytes.NewReader(msg)); err != nil {
		t.Fatalf("DecryptReader(message at the limit) error = %v", err)
	}
	if _, err := d.DecryptReader(io.MultiReader(bytes.NewReader(msg), strings.NewReader(" "))); !errors.Is(err, wssec.ErrLimitExceeded) {
		t.Fatalf("DecryptReader(limit + 1) error = %v, want %v", err, wssec.ErrLimitExceeded)
	}
	r := &endless{}
	if _, err := d.DecryptReader(r); !errors.Is(err, wssec.ErrLimitExceeded) || r.n > int64(len(msg))+64<<10 {
		t.Fatalf("DecryptReader(endless) error = %v after reading %d bytes, want ErrLimitExceeded near %d", err, r.n, len(msg))
	}
	bad := errors.New("connection reset")
	if _, err := d.DecryptReader(io.MultiReader(strings.NewReader("<a"), iotestErr{bad})); !errors.Is(err, bad) {
		t.Fatalf("DecryptReader(failing reader) error = %v, want it to wrap %v", err, bad)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// TestDecrypt_64MiB builds a message of exactly the default limit, which is
// accepted, and one byte more, which is not.
func TestDecrypt_64MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 64 MiB message")
	}
	t.Parallel()
	small := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, KeyTransport: wssec.RSAOAEPMGF1P, DataEncryption: wssec.AES256GCM},
		[]byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:x"><s:Body><tns:Blob>x</tns:Blob></s:Body></s:Envelope>`))
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(small); err != nil {
		t.Fatal(err)
	}
	ekv, _ := base64.StdEncoding.DecodeString(cipherValue(doc, "EncryptedKey").Text())
	cek, err := rsa.DecryptOAEP(sha1.New(), nil, oldID.Key, ekv, nil)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 64 << 20
	body := make([]byte, 47<<20) // base64 of it leaves room for the rest
	copy(body, "<tns:Blob>")
	for i := 10; i < len(body)-11; i++ {
		body[i] = 'A' + byte(i%26)
	}
	copy(body[len(body)-11:], "</tns:Blob>")
	ct, err := xmlenc.EncryptData(xmlenc.AES256GCM, cek, make([]byte, 12), body)
	if err != nil {
		t.Fatal(err)
	}
	cipherValue(doc, "EncryptedData").SetText(base64.StdEncoding.EncodeToString(ct))
	msg, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	pad := limit - len(msg) - len("<!---->")
	msg = append(msg, "<!--"+strings.Repeat(" ", pad)+"-->"...)
	if len(msg) != limit {
		t.Fatalf("built %d bytes, want %d", len(msg), limit)
	}
	d := &wssec.Decryptor{Keys: twoKeyRing(t)}
	res, err := d.Decrypt(msg)
	if err != nil {
		t.Fatalf("Decrypt(64 MiB) error = %v", err)
	}
	if !bytes.Contains(res.Envelope, body[:100]) {
		t.Fatal("Decrypt(64 MiB) lost the payload")
	}
	if _, err := d.DecryptReader(io.MultiReader(bytes.NewReader(msg), strings.NewReader(" "))); !errors.Is(err, wssec.ErrLimitExceeded) {
		t.Fatalf("DecryptReader(64 MiB + 1) error = %v, want %v", err, wssec.ErrLimitExceeded)
	}
}

// TestDecrypt_uniformError mutates hundreds of CBC ciphertexts (padding
// and plaintext alike) and wrapped keys, and expects one error value and
// one text for every failure: the property that denies a padding or
// parsing oracle. CBC is malleable, so a mutation may also yield other
// well-formed content; those decrypt, and are counted.
func TestDecrypt_uniformError(t *testing.T) {
	t.Parallel()
	variants := 300
	if testing.Short() {
		variants = 40
	}
	ring := wssec.NewKeyRing(keyOf(oldID))
	d := &wssec.Decryptor{Keys: ring, Policy: wssec.Policy{AllowRSA15: true}}
	rng := rand.New(rand.NewPCG(1, 2))
	texts := map[string]int{}
	for _, tc := range []struct {
		kt    wssec.KeyTransport
		owner string
	}{
		{wssec.RSAOAEPMGF1P, "EncryptedData"}, {wssec.RSAOAEPMGF1P, "EncryptedKey"},
		{wssec.RSA15, "EncryptedData"}, {wssec.RSA15, "EncryptedKey"},
	} {
		msg := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, KeyTransport: tc.kt, DataEncryption: wssec.AES128CBC}, readTestdata(t, "response11.xml"))
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(msg); err != nil {
			t.Fatal(err)
		}
		cv := cipherValue(doc, tc.owner)
		orig, _ := base64.StdEncoding.DecodeString(cv.Text())
		for range variants {
			b := append([]byte(nil), orig...)
			// Bytes of the last two blocks steer the padding; earlier ones
			// the plaintext, and so whether the XML parses.
			pos := rng.IntN(len(b))
			if tc.owner == "EncryptedData" && rng.IntN(2) == 0 {
				pos = len(b) - 32 + rng.IntN(32)
			}
			b[pos] ^= byte(1 + rng.IntN(255))
			cv.SetText(base64.StdEncoding.EncodeToString(b))
			bad, _ := doc.WriteToBytes()
			_, err := d.Decrypt(bad)
			if err == nil {
				texts["(decrypted)"]++
				continue
			}
			if err != wssec.ErrDecryptionFailed { //nolint:errorlint // the identical value is the property
				t.Fatalf("Decrypt(%s, %s mutated at %d) error = %v, want exactly ErrDecryptionFailed", tc.kt, tc.owner, pos, err)
			}
			texts[err.Error()]++
		}
	}
	delete(texts, "(decrypted)")
	if len(texts) != 1 {
		t.Fatalf("mutations gave %d different error texts: %v", len(texts), texts)
	}
}

// TestDecrypt_smuggledContent: decrypted content may not bring encrypted
// data, a Security header or SOAP envelope structure. With GCM the content
// is authenticated and the error says so; with CBC it stays the uniform
// error, which cannot serve as an oracle.
func TestDecrypt_smuggledContent(t *testing.T) {
	t.Parallel()
	inner := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, EmbedEncryptedKey: true}, readTestdata(t, "response11.xml"))
	innerED := inner[bytes.Index(inner, []byte("<xenc:EncryptedData")) : bytes.Index(inner, []byte("</xenc:EncryptedData>"))+len("</xenc:EncryptedData>")]
	const ns = `xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"`
	for _, tc := range []struct {
		name    string
		content string
		limits  wssec.Policy
		gcmErr  error
	}{
		{"nested EncryptedData", string(innerED), wssec.Policy{}, wssec.ErrMalformed},
		{"Security header", `<wsse:Security ` + ns + `/>`, wssec.Policy{}, wssec.ErrMalformed},
		{"second Body", `<soapenv:Body/>`, wssec.Policy{}, wssec.ErrMalformed},
		{"Envelope", `<soapenv:Envelope><soapenv:Body/></soapenv:Envelope>`, wssec.Policy{}, wssec.ErrMalformed},
		{"Id of the message", `<tns:X wsu:Id="SESSION" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"/>`, wssec.Policy{}, wssec.ErrMalformed},
		{"too deep", strings.Repeat("<tns:d>", 20) + strings.Repeat("</tns:d>", 20), wssec.Policy{MaxDepth: 10}, wssec.ErrLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:tns="urn:example:orders"><soapenv:Header><tns:Session Id="SESSION"/></soapenv:Header><soapenv:Body>` + tc.content + `</soapenv:Body></soapenv:Envelope>`
			for _, c := range []struct {
				de   wssec.DataEncryption
				want error
			}{{wssec.AES256GCM, tc.gcmErr}, {wssec.AES256CBC, wssec.ErrDecryptionFailed}} {
				msg := encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: c.de}, []byte(env))
				d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: tc.limits}
				_, err := d.Decrypt(msg)
				if !errors.Is(err, c.want) {
					t.Fatalf("Decrypt(%s, %s) error = %v, want %v", tc.name, c.de, err, c.want)
				}
				if c.want == wssec.ErrDecryptionFailed && err != wssec.ErrDecryptionFailed { //nolint:errorlint
					t.Fatalf("Decrypt(%s, %s) error = %#v, want the bare sentinel", tc.name, c.de, err)
				}
			}
		})
	}
}

// TestDecrypt_recipient: an EncryptedKey addressed to someone else is not
// used once the policy says who we are.
func TestDecrypt_recipient(t *testing.T) {
	t.Parallel()
	msg := edit(t, encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, readTestdata(t, "response11.xml")), func(d *etree.Document) {
		find(d, "EncryptedKey").CreateAttr("Recipient", "urn:partner:other")
	})
	for _, tc := range []struct {
		recipient string
		want      error
	}{{"", nil}, {"urn:partner:other", nil}, {"urn:tenant", wssec.ErrNoMatchingKey}} {
		d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: wssec.Policy{Recipient: tc.recipient}}
		if _, err := d.Decrypt(msg); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Decrypt(Recipient policy %q) error = %v, want %v", tc.recipient, err, tc.want)
		}
	}
}

// TestDecrypt_cipherValueMarkup: comments, CDATA and line breaks inside a
// CipherValue, large enough to bypass the tokenizer, still decode.
func TestDecrypt_cipherValueMarkup(t *testing.T) {
	t.Parallel()
	msg := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, bytes.Replace(readTestdata(t, "response11.xml"), []byte("Ada"), []byte(strings.Repeat("Ada ", 2000)), 1))
	for name, f := range map[string]func(string) string{
		"comment":     func(v string) string { return v[:1200] + "<!-- a comment -->" + v[1200:] },
		"cdata":       func(v string) string { return v[:1200] + "<![CDATA[" + v[1200:1300] + "]]>" + v[1300:] },
		"line breaks": func(v string) string { return "\n  " + wrap(v, 64) + "\n" },
		"spaces":      func(v string) string { return " " + strings.Join(strings.SplitAfter(v, "A"), " ") },
	} {
		i := bytes.Index(msg, []byte("<xenc:CipherValue>"))
		i += bytes.Index(msg[i+1:], []byte("<xenc:CipherValue>")) + 1 + len("<xenc:CipherValue>")
		j := i + bytes.IndexByte(msg[i:], '<')
		v := string(msg[i:j])
		mod := append(append(append([]byte(nil), msg[:i]...), f(v)...), msg[j:]...)
		d := &wssec.Decryptor{Keys: twoKeyRing(t)}
		if _, err := d.Decrypt(mod); err != nil {
			t.Errorf("Decrypt(CipherValue with %s) error = %v", name, err)
		}
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

// TestDecrypt_largeTampered: data large enough for the two-halves paths
// (base64, AES-GCM, the fragment check) decrypts as the same message
// does below them, wrapped or not, and any changed byte of a large
// AES-GCM CipherValue (IV, either half, the tag) is exactly
// ErrDecryptionFailed.
func TestDecrypt_largeTampered(t *testing.T) {
	t.Parallel()
	body := response("records", 3<<19)
	for _, de := range []wssec.DataEncryption{wssec.AES256GCM, wssec.AES128CBC} {
		msg := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate, DataEncryption: de}, body)
		i := bytes.Index(msg, []byte("<xenc:CipherValue>"))
		i += bytes.Index(msg[i+1:], []byte("<xenc:CipherValue>")) + 1 + len("<xenc:CipherValue>")
		j := i + bytes.IndexByte(msg[i:], '<')
		ct, err := base64.StdEncoding.DecodeString(string(msg[i:j]))
		if err != nil {
			t.Fatal(err)
		}
		with := func(ct []byte, wrapped bool) []byte {
			v := base64.StdEncoding.EncodeToString(ct)
			if wrapped {
				v = wrap(v, 64)
			}
			return append(append(append([]byte(nil), msg[:i]...), v...), msg[j:]...)
		}
		d := &wssec.Decryptor{Keys: wssec.NewKeyRing(keyOf(oldID))}
		var want string
		for _, wrapped := range []bool{false, true} {
			res, err := d.Decrypt(with(ct, wrapped))
			if err != nil {
				t.Fatalf("Decrypt(%s, wrapped %v) error = %v", algName(de), wrapped, err)
			}
			if want == "" {
				want = normalize(t, res.Envelope)
			}
			if diff := cmp.Diff(want, normalize(t, res.Envelope)); diff != "" {
				t.Errorf("Decrypt(%s, wrapped %v) envelope differs (-unwrapped +wrapped):\n%.2000s", algName(de), wrapped, diff)
			}
		}
		if de != wssec.AES256GCM {
			continue
		}
		for _, at := range []int{0, 11, 12, len(ct) / 4, len(ct)/2 - 1, len(ct) / 2, len(ct) * 3 / 4, len(ct) - 17, len(ct) - 16, len(ct) - 1} {
			bad := bytes.Clone(ct)
			bad[at] ^= 0x10
			_, err := d.Decrypt(with(bad, at%2 == 0))
			if err != wssec.ErrDecryptionFailed || err.Error() != wssec.ErrDecryptionFailed.Error() {
				t.Errorf("Decrypt(%s, byte %d of %d changed) error = %v, want exactly %v", algName(de), at, len(ct), err, wssec.ErrDecryptionFailed)
			}
		}
	}
}
