package wssec_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// withElements returns the test response with n elements, each with a
// wsu:Id and size bytes of text, appended to the Body's payload (nested
// inside each other around one text of size bytes if nested is set), and
// their Ids.
func withElements(t testing.TB, n, size int, nested bool) ([]byte, []string) {
	t.Helper()
	var b strings.Builder
	var ids []string
	text := strings.Repeat("x", size)
	for i := range n {
		id := fmt.Sprintf("e-%d", i)
		ids = append(ids, id)
		fmt.Fprintf(&b, `<tns:E wsu:Id="%s" xmlns:wsu="%s">`, id, nsWSU)
		if !nested {
			b.WriteString(text + "</tns:E>")
		}
	}
	if nested {
		b.WriteString(text)
		b.WriteString(strings.Repeat("</tns:E>", n))
	}
	msg := bytes.Replace(readTestdata(t, "response11.xml"), []byte("</tns:GetOrderResponse>"), []byte(b.String()+"</tns:GetOrderResponse>"), 1)
	return msg, ids
}

func badSignatureValue(d *etree.Document) {
	v := find(d, "SignatureValue")
	b, _ := base64.StdEncoding.DecodeString(v.Text())
	b[7] ^= 1
	v.SetText(base64.StdEncoding.EncodeToString(b))
}

// BenchmarkVerify_hostile measures the hostile shapes of signed messages
// of about 1 MiB against an ordinary signed message of the same size:
// many references to distinct elements under a SignatureValue that does
// not verify (no digest is computed), the Body named 64 times (refused
// while reading SignedInfo), and nested references whose canonical forms
// add up far beyond the message (stopped by the canonicalization bound).
func BenchmarkVerify_hostile(b *testing.B) {
	const size = 1 << 20
	ordinaryMsg, _ := withElements(b, 60, size/60, false)
	ordinary := sign(b, ordinaryMsg, receiverID, signOpts{})
	manyMsg, manyIDs := withElements(b, 62, size/62, false)
	many := sign(b, manyMsg, receiverID, signOpts{ids: manyIDs})
	nestedMsg, nestedIDs := withElements(b, 60, size, true)
	shapes := []struct {
		name string
		msg  []byte
		ok   bool
	}{
		{"ordinary", ordinary, true},
		{"62 references, all verified", many, true},
		{"62 references, bad SignatureValue", edit(b, many, badSignatureValue), false},
		{"Body referenced 64 times", sign(b, ordinaryMsg, receiverID, signOpts{repeatBody: 62}), false},
		{"60 nested references", sign(b, nestedMsg, receiverID, signOpts{ids: nestedIDs}), false},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			clk := fakeclock.New(t0.Add(time.Minute))
			d := &wssec.Decryptor{Keys: twoKeyRing(b), Policy: wssec.Policy{AllowPlaintextBody: true},
				Signers: trustRing(b, clk, receiverID.Certificate)}
			b.SetBytes(int64(len(s.msg)))
			for b.Loop() {
				if _, err := d.Decrypt(s.msg); (err == nil) != s.ok {
					b.Fatalf("Decrypt error = %v, want success %v", err, s.ok)
				}
			}
		})
	}
}

// BenchmarkVerify_encryptThenSign decrypts an 8 MiB encrypt-then-sign
// message: the signature over the encrypted Body is verified on the tree
// the message is read into once, with the large CipherValue put back only
// for its digest.
func BenchmarkVerify_encryptThenSign(b *testing.B) {
	msg, _ := withElements(b, 1, 6<<20, false)
	signed := sign(b, encrypt(b, &wssec.Encryptor{Certificate: newID.Certificate}, msg), receiverID, signOpts{})
	clk := fakeclock.New(t0.Add(time.Minute))
	d := &wssec.Decryptor{Keys: twoKeyRing(b), Signers: trustRing(b, clk, receiverID.Certificate)}
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		if _, err := d.Decrypt(signed); err != nil {
			b.Fatal(err)
		}
	}
}
