package wssec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/wssec"
)

// TestVerify_opaqueBody: a signed message with nothing encrypted is read
// without its Body's content in the tree and the Body digested from the
// message's bytes; content that the tree must see (an Id, a Fault) makes
// it read in full, with the same outcome as ever.
func TestVerify_opaqueBody(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	withID := bytes.Replace(plain, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2" xmlns:wsu="`+nsWSU+`" wsu:Id="o-2">`), 1)
	dupID := bytes.Replace(plain, []byte(`<tns:Order id="o-2">`), []byte(`<tns:Order id="o-2" xmlns:wsu="`+nsWSU+`" wsu:Id="TS-1">`), 1)
	fault := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>no</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	signedDup := sign(t, dupID, receiverID, signOpts{})
	tests := []struct {
		name       string
		msg        []byte
		wantErr    error
		wantSigned []string
	}{
		{"signed Body", sign(t, plain, receiverID, signOpts{}), nil, []string{"Body Body", "Security header Timestamp Timestamp"}},
		{"tampered content", bytes.Replace(sign(t, plain, receiverID, signOpts{}), []byte("1234.50"), []byte("9234.50"), 1), wssec.ErrSignatureInvalid, nil},
		{"tampered attribute", bytes.Replace(sign(t, plain, receiverID, signOpts{}), []byte(`currency="GBP"`), []byte(`currency="USD"`), 1), wssec.ErrSignatureInvalid, nil},
		{"content with a signed Id", sign(t, withID, receiverID, signOpts{ids: []string{"o-2"}}), nil, []string{"Body Body", "in Body Order", "Security header Timestamp Timestamp"}},
		{"content repeating a header Id", signedDup, wssec.ErrMalformed, nil},
		{"signed Fault", sign(t, fault, receiverID, signOpts{}), nil, []string{"Body Body", "Security header Timestamp Timestamp"}},
		{"malformed content", bytes.Replace(sign(t, plain, receiverID, signOpts{}), []byte("</tns:Customer>"), []byte("</tns:Customr>"), 1), wssec.ErrMalformed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := decryptSigned(t, tc.msg, wssec.Policy{AllowPlaintextBody: true}, 0)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decrypt(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if !bytes.Equal(res.Envelope, tc.msg) {
				t.Errorf("Decrypt(%s) Envelope differs from the message verified", tc.name)
			}
			var got []string
			for _, p := range res.Signed {
				got = append(got, p.Location.String()+" "+p.Name.Local)
			}
			if diff := cmp.Diff(tc.wantSigned, got); diff != "" {
				t.Errorf("Decrypt(%s) signed parts (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}
