package wssec_test

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/wsrenew/wsrenew/wssec"
)

// TestVerify_bodyDigest: the Body of a signed message with nothing
// encrypted is digested on a second goroutine while the message is
// parsed. The outcome is the one the message alone decides, whether the
// digest computed early fits the reference or not, for any input, and no
// goroutine outlives Decrypt, on success or on error.
func TestVerify_bodyDigest(t *testing.T) {
	plain := readTestdata(t, "response11.xml")
	signed := sign(t, plain, receiverID, signOpts{})
	deep := bytes.Replace(plain, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2">`+strings.Repeat("<x>", 40)+strings.Repeat("</x>", 40)), 1)
	// Each xsd:x shows the declaration of xsd again: far more than three
	// times the message.
	wide := bytes.Replace(plain, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2">`+strings.Repeat("<xsd:x/>", 1<<14)), 1)
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
		{"not XML", []byte("<soapenv:Body>" + strings.Repeat("<", 100)), wssec.Policy{}, wssec.ErrMalformed},
	}
	before := runtime.NumGoroutine()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.pol.AllowPlaintextBody = true
			res, err := decryptSigned(t, tc.msg, tc.pol, 0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(res.Envelope, tc.msg) || &res.Envelope[0] == &tc.msg[0] {
				t.Errorf("Decrypt(%s) Envelope is not a copy of the message verified", tc.name)
			}
			if !res.SignedBody() {
				t.Errorf("Decrypt(%s) SignedBody() = false, want true", tc.name)
			}
		})
	}
	// The goroutine has ended when Decrypt returns; give the scheduler
	// the chance to reap it.
	after := runtime.NumGoroutine()
	for i := 0; i < 1000 && after > before; i++ {
		runtime.Gosched()
		after = runtime.NumGoroutine()
	}
	if after > before {
		t.Errorf("goroutines after Decrypt = %d, before %d", after, before)
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
