package wssec_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestTransport_plaintextNeverPasses: an unencrypted SOAP response,
// signed or not, never reaches the caller under the default policy, nor
// an unsigned one with AllowPlaintextBody and Signers, whatever the
// Content-Type (missing, XML types with odd, malformed, repeated or
// non-UTF-8 charsets, text/plain, text/html, octet-stream, MTOM, lists),
// gzip Content-Encoding (decoded by Transport or by net/http), and HTTP
// status.
func TestTransport_plaintextNeverPasses(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	signedPlain := sign(t, plain, receiverID, signOpts{})
	cts := []string{"", "text/xml", "text/xml; charset", "text/xml; charset=iso-8859-1", "text/xml; charset=utf-16", "text/xml; charset=us-ascii", "TEXT/XML", "text/xml;charset=\"utf-8\"", "text/plain", "text/html", "application/octet-stream", "multipart/related", "application/xop+xml", "application/soap+xml; action=x", "text/xml, text/html", "application/json", "text/xml; charset=utf-8; charset=latin1", "xml", "*/*"}
	for _, ct := range cts {
		for _, gz := range []bool{false, true} {
			for _, signers := range []bool{false, true} {
				for _, body := range [][]byte{plain, signedPlain} {
					for _, status := range []int{200, 500} {
						srv := receiverServer(t, func(w http.ResponseWriter) {
							if ct == "" {
								w.Header()["Content-Type"] = nil
							} else {
								w.Header().Set("Content-Type", ct)
							}
							b := body
							if gz {
								var buf bytes.Buffer
								zw := gzip.NewWriter(&buf)
								zw.Write(body)
								zw.Close()
								b = buf.Bytes()
								w.Header().Set("Content-Encoding", "gzip")
							}
							w.WriteHeader(status)
							w.Write(b)
						})
						for _, allow := range []bool{false, true} {
							if allow && (!signers || len(body) != len(plain)) {
								continue // plaintext allowed and not verified, or signed: may pass
							}
							d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: wssec.Policy{AllowPlaintextBody: allow}}
							if signers {
								d.Signers = trustRing(t, fakeclock.New(t0.Add(time.Minute)), receiverID.Certificate)
							}
							tr := &http.Transport{DisableCompression: !gz}
							resp, err := (&http.Client{Transport: &wssec.Transport{Decryptor: d, Base: tr}}).Get(srv.URL)
							if err == nil {
								b, _ := io.ReadAll(resp.Body)
								resp.Body.Close()
								t.Errorf("ct=%q gz=%v signers=%v signed=%v allow=%v status=%d: plaintext passed (%d bytes)", ct, gz, signers, len(body) != len(plain), allow, status, len(b))
							}
						}
					}
				}
			}
		}
	}
}
