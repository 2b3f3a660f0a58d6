package wssec_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestVerify_bodyDigest: the Body of a signed message with nothing
// encrypted is digested on a second goroutine while the message is
// parsed. The outcome is the one the message alone decides, whether the
// digest computed early fits the reference or not, for any input, and
// nothing reads the message once Decrypt returned, on success or on
// error (the race detector reports a reading of it as the test
// overwrites it).
func TestVerify_bodyDigest(t *testing.T) {
	// Large enough that reading the Body takes a while: a goroutine
	// left running would still read the message after Decrypt returned,
	// which the race detector reports once the test overwrites it.
	small := readTestdata(t, "response11.xml")

	order := small[bytes.Index(small, []byte(`<tns:Order id="o-1">`)):bytes.Index(small, []byte(`<tns:Order id="o-2">`))]
	plain := bytes.Replace(small, order, bytes.Repeat(order, 1<<12), 1)
	signed := sign(t, plain, receiverID, signOpts{})
	deep := bytes.Replace(plain, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2">`+strings.Repeat("<x>", 40)+strings.Repeat("</x>", 40)), 1)
	// Each xsd:x shows the declaration of xsd again: far more than three
	// times the message.
	wide := bytes.Replace(small, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2">`+strings.Repeat("<xsd:x/>", 1<<14)), 1)
	gcm := &wssec.Encryptor{Certificate: newID.Certificate, DataEncryption: wssec.AES256GCM}
	tests := []struct {
		name    string
		msg     []byte
		pol     wssec.Policy
		wantErr error
	}{
		{"signed", signed, wssec.Policy{}, nil},
		{"SHA-1 digests", sign(t, plain, receiverID, signOpts{digest: sha1D}), wssec.Policy{AllowSHA1Signatures: true}, nil},
		{"tampered content", bytes.Replace(signed, []byte("1234.50"), []byte("9234.50"), 1), wssec.Policy{}, wssec.ErrSignatureInvalid},
		{"tampered SignatureValue", tamperSignatureValue(t, signed), wssec.Policy{}, wssec.ErrSignatureInvalid},
		{"malformed content", bytes.Replace(signed, []byte("</tns:Customer>"), []byte("</tns:Customr>"), 1), wssec.Policy{}, wssec.ErrMalformed},
		{"truncated", signed[:len(signed)-20], wssec.Policy{}, wssec.ErrMalformed},
		{"text after the envelope", append(append([]byte(nil), signed...), "x<"...), wssec.Policy{}, wssec.ErrMalformed},
		{"too deep", sign(t, deep, receiverID, signOpts{}), wssec.Policy{MaxDepth: 30}, wssec.ErrLimitExceeded},
		{"too many attributes", sign(t, plain, receiverID, signOpts{}), wssec.Policy{MaxAttributes: 1}, wssec.ErrLimitExceeded},
		{"empty-element tags", sign(t, bytes.Replace(plain, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2">`+strings.Repeat("<x/>", 1<<12)), 1), receiverID, signOpts{}), wssec.Policy{}, nil},
		{"canonical form beyond the budget", sign(t, wide, receiverID, signOpts{}), wssec.Policy{}, wssec.ErrLimitExceeded},
		{"sign-then-encrypt", encrypt(t, gcm, signed), wssec.Policy{}, nil},
		{"encrypt-then-sign", sign(t, encrypt(t, gcm, plain), receiverID, signOpts{}), wssec.Policy{}, nil},
		{"encrypt-then-sign, Encrypted written first", sign(t, encrypt(t, gcm, bytes.Replace(plain, []byte("<soapenv:Envelope "), []byte(`<soapenv:Envelope xmlns:e="urn:Encrypted" `), 1)), receiverID, signOpts{}), wssec.Policy{}, nil},
		{"not XML", []byte("<soapenv:Body>" + strings.Repeat("<", 100)), wssec.Policy{}, wssec.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.pol.AllowPlaintextBody = true
			msg := append([]byte(nil), tc.msg...)
			res, err := decryptSigned(t, msg, tc.pol, 0)
			stillReading(t)
			clear(msg)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if res.Decrypted == 0 && !bytes.Equal(res.Envelope, tc.msg) {
				t.Errorf("Decrypt(%s) Envelope is not a copy of the message verified", tc.name)
			}
			if !res.SignedBody() {
				t.Errorf("Decrypt(%s) SignedBody() = false, want true", tc.name)
			}
		})
	}
}

// stillReading fails t if a goroutine still reads a message for a
// Body digest. Counting goroutines would not do: one that has done its
// work may not have exited yet when the scheduler lets the test look.
func stillReading(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(stacks, "c14n.CanonicalizeBytesMatch") {
		t.Errorf("a goroutine still reads the message after Decrypt returned:\n%s", stacks)
	}
}

// tamperSignatureValue changes one character of msg's SignatureValue.
func tamperSignatureValue(t *testing.T, msg []byte) []byte {
	t.Helper()
	i := bytes.Index(msg, []byte("SignatureValue>"))
	if i < 0 {
		t.Fatal("no SignatureValue")
	}
	out := append([]byte(nil), msg...)
	k := i + len("SignatureValue>") + 5
	if out[k] == 'A' {
		out[k] = 'B'
	} else {
		out[k] = 'A'
	}
	return out
}

// FuzzVerify_bodyDigest edits a signed message large enough that its
// Body is digested on a second goroutine: any edit yields a documented
// error or the message verified and returned as it came, and nothing
// reads the message after Decrypt returned.
func FuzzVerify_bodyDigest(f *testing.F) {
	small := readTestdata(f, "response11.xml")
	order := small[bytes.Index(small, []byte(`<tns:Order id="o-1">`)):bytes.Index(small, []byte(`<tns:Order id="o-2">`))]
	base := sign(f, bytes.Replace(small, order, bytes.Repeat(order, 400), 1), receiverID, signOpts{})
	body := uint32(bytes.Index(base, []byte("<soapenv:Body")))
	f.Add([]byte(nil), uint32(0), uint16(0))
	f.Add([]byte("<x>"), body+40, uint16(0))
	f.Add([]byte("</tns:Order>"), body+400, uint16(3))
	f.Add([]byte(`xmlns:tns="urn:other" `), body+30, uint16(0))
	f.Add([]byte("<soapenv:Body>"), uint32(200), uint16(0))
	f.Add([]byte("&#0;"), body+300, uint16(1))
	d := &wssec.Decryptor{Keys: twoKeyRing(f), Signers: trustRing(f, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate),
		Policy: wssec.Policy{AllowPlaintextBody: true}}
	f.Fuzz(func(t *testing.T, edit []byte, at uint32, cut uint16) {
		k := int(at % uint32(len(base)))
		msg := append(append(append([]byte(nil), base[:k]...), edit...), base[min(k+int(cut), len(base)):]...)
		res, err := d.Decrypt(msg)
		want := append([]byte(nil), msg...)
		clear(msg)
		if err == nil {
			if !bytes.Equal(res.Envelope, want) || !res.SignedBody() {
				t.Fatalf("Decrypt() of an edited message succeeded with another envelope or an unsigned Body")
			}
			return
		}
		for _, w := range documented {
			if errors.Is(err, w) {
				return
			}
		}
		t.Fatalf("Decrypt() error = %v, not a documented error", err)
	})
}
