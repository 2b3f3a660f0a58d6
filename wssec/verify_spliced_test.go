package wssec_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"testing"

	"github.com/beevik/etree"
	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/wssec"
)

// TestVerify_spliced: a signature in clear over plaintext (sign, then
// encrypt) is digested from the decrypted envelope as returned, with the
// signed elements found by their place; plaintext spliced in before the
// Body (an encrypted header block) shifts that place, plaintext that
// does not verify is refused, and a signed element that only decryption
// reveals is found in the decrypted envelope's tree.
func TestVerify_spliced(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	session := []xml.Name{{Space: "urn:example:orders", Local: "Session"}}
	tampered := bytes.Replace(sign(t, plain, receiverID, signOpts{}), []byte("1234.50"), []byte("9234.50"), 1)
	tests := []struct {
		name    string
		msg     []byte
		wantErr error
	}{
		{"Body content", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate}, sign(t, plain, receiverID, signOpts{})), nil},
		{"Body elements", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EncryptElement: true}, sign(t, plain, receiverID, signOpts{})), nil},
		{"header block before the Body", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EncryptHeaders: session}, sign(t, plain, receiverID, signOpts{})), nil},
		{"signed header block encrypted", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EncryptHeaders: session}, sign(t, plain, receiverID, signOpts{extra: []string{"Session"}})), nil},
		{"signed order encrypted", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EncryptElement: true}, sign(t, plain, receiverID, signOpts{extra: []string{"GetOrderResponse"}})), nil},
		{"tampered Body", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate}, tampered), wssec.ErrSignatureInvalid},
		{"tampered Body, header block before it", encrypt(t, &wssec.Encryptor{Certificate: newID.Certificate, EncryptHeaders: session}, tampered), wssec.ErrSignatureInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := decryptSigned(t, tc.msg, wssec.Policy{}, 0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			// What was verified is what is returned: the same signature
			// verifies on the returned envelope read as a new message.
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(res.Envelope); err != nil {
				t.Fatalf("returned envelope: %v", err)
			}
			var got []string
			for _, p := range res.Signed {
				got = append(got, p.Location.String()+" "+p.Name.Local)
			}
			if len(got) < 2 {
				t.Errorf("Decrypt(%s) signed parts = %v, want the Body and the Timestamp at least", tc.name, got)
			}
			again, err := decryptSigned(t, res.Envelope, wssec.Policy{AllowPlaintextBody: true}, 0)
			if err != nil {
				t.Fatalf("Decrypt(returned envelope of %s) error = %v", tc.name, err)
			}
			var gotAgain []string
			for _, p := range again.Signed {
				gotAgain = append(gotAgain, p.Location.String()+" "+p.Name.Local)
			}
			if diff := cmp.Diff(got, gotAgain); diff != "" {
				t.Errorf("signed parts of %s, decrypted and as returned (-decrypted +returned):\n%s", tc.name, diff)
			}
		})
	}
}
