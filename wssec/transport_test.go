package wssec_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/wssec"
)

const faultXML = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>down</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`

// receiverServer answers every request with what respond returns, and
// puts the SHA-256 of the request body it received in a header.
func receiverServer(t *testing.T, respond func(w http.ResponseWriter)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(b)
		w.Header().Set("X-Request-SHA256", hex.EncodeToString(sum[:]))
		respond(w)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTransport(t *testing.T) {
	t.Parallel()
	plain := readTestdata(t, "response11.xml")
	enc := encrypt(t, &wssec.Encryptor{Certificate: oldID.Certificate}, plain)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(enc)
	zw.Close()
	tampered := edit(t, enc, flip("EncryptedData", 30))

	write := func(status int, ct string, body []byte, hdr ...string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(status)
			w.Write(body)
		}
	}
	chunked := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		for i := 0; i < len(enc); i += 100 {
			w.Write(enc[i:min(i+100, len(enc))])
			w.(http.Flusher).Flush()
		}
	}
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter)
		policy     wssec.Policy
		wantErr    error
		wantStatus int
		wantBody   []byte // nil: the decrypted envelope must match plain
	}{
		{"encrypted", write(200, "text/xml; charset=utf-8", enc), wssec.Policy{}, nil, 200, nil},
		{"soap 1.2 content type", write(200, `application/soap+xml; charset=utf-8; action="urn:x"`, enc), wssec.Policy{}, nil, 200, nil},
		{"no content type", write(200, "", enc), wssec.Policy{}, nil, 200, nil},
		{"chunked", chunked, wssec.Policy{}, nil, 200, nil},
		{"gzip", write(200, "text/xml", gz.Bytes(), "Content-Encoding", "gzip"), wssec.Policy{}, nil, 200, nil},
		{"plaintext refused", write(200, "text/xml", plain), wssec.Policy{}, wssec.ErrNotEncrypted, 200, nil},
		{"plaintext allowed", write(200, "text/xml", plain), wssec.Policy{AllowPlaintextBody: true}, nil, 200, plain},
		{"plain fault passes", write(500, "text/xml", []byte(faultXML)), wssec.Policy{}, nil, 500, []byte(faultXML)},
		// Fail closed: Go SOAP clients parse the body whatever the
		// Content-Type says, so no undecrypted body gets through by its
		// type.
		{"html error page refused", write(502, "text/html", []byte("<html>bad gateway</html>")), wssec.Policy{}, wssec.ErrContentType, 502, nil},
		{"html error page, plaintext allowed", write(502, "text/html", []byte("<html>bad gateway</html>")), wssec.Policy{AllowPlaintextBody: true}, nil, 502, []byte("<html>bad gateway</html>")},
		{"plaintext as text/plain", write(200, "text/plain", plain), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"plaintext as octet-stream", write(200, "application/octet-stream", plain), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"encrypted as text/html", write(200, "text/html; charset=utf-8", enc), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"MTOM", write(200, `multipart/related; type="application/xop+xml"; boundary=b; start-info="text/xml"`, plain), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"MTOM, plaintext allowed", write(200, `multipart/related; type="application/xop+xml"; boundary=b`, plain), wssec.Policy{AllowPlaintextBody: true}, wssec.ErrContentType, 200, nil},
		{"XOP part", write(200, `application/xop+xml; type="text/xml"`, plain), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"parameter without value", write(200, "text/xml; charset", plain), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"parameter without value, encrypted", write(200, "text/xml; charset", enc), wssec.Policy{AllowPlaintextBody: true}, wssec.ErrContentType, 200, nil},
		{"unparsable type", write(200, "text/xml/x", enc), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"two content types", func(w http.ResponseWriter) {
			w.Header().Add("Content-Type", "text/xml")
			w.Header().Add("Content-Type", "text/html")
			w.Write(enc)
		}, wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"latin-1 refused", write(200, "text/xml; charset=ISO-8859-1", enc), wssec.Policy{}, wssec.ErrContentType, 200, nil},
		{"utf-16 refused", write(200, "application/soap+xml; charset=utf-16", enc), wssec.Policy{AllowPlaintextBody: true}, wssec.ErrContentType, 200, nil},
		{"upper-case UTF-8", write(200, "text/xml; charset=UTF-8", enc), wssec.Policy{}, nil, 200, nil},
		{"us-ascii honoured", write(200, "text/xml; charset=us-ascii", enc), wssec.Policy{}, nil, 200, nil},
		{"us-ascii with a non-ASCII byte", write(200, "text/xml; charset=us-ascii", append(append([]byte(nil), plain...), "<!-- \xc3\xa9 -->"...)), wssec.Policy{AllowPlaintextBody: true}, wssec.ErrContentType, 200, nil},
		{"empty body passes", write(202, "text/xml", nil), wssec.Policy{}, nil, 202, []byte{}},
		{"empty html body passes", write(503, "text/html", []byte(" \n")), wssec.Policy{}, nil, 503, []byte(" \n")},
		{"tampered", write(200, "text/xml", tampered), wssec.Policy{}, wssec.ErrDecryptionFailed, 200, nil},
		{"too large", write(200, "text/xml", enc), wssec.Policy{MaxMessageBytes: 1000}, wssec.ErrLimitExceeded, 200, nil},
		{"too large chunked", chunked, wssec.Policy{MaxMessageBytes: 1000}, wssec.ErrLimitExceeded, 200, nil},
		{"unknown encoding", write(200, "text/xml", enc, "Content-Encoding", "br"), wssec.Policy{}, wssec.ErrMalformed, 200, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := receiverServer(t, tc.respond)
			var seen atomic.Int32
			tr := &wssec.Transport{
				Base:        srv.Client().Transport,
				Decryptor:   &wssec.Decryptor{Keys: twoKeyRing(t), Policy: tc.policy},
				OnDecrypted: func(*http.Request, *wssec.Result) { seen.Add(1) },
			}
			reqBody := []byte("<request>" + strings.Repeat("x", 5000) + "</request>")
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(reqBody))
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if tc.wantErr != nil {
				var te *wssec.TransportError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &te) || te.StatusCode != tc.wantStatus {
					t.Fatalf("Do() error = %v, want %v with status %d", err, tc.wantErr, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatalf("Do() error = %v", err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			sum := sha256.Sum256(reqBody)
			if resp.StatusCode != tc.wantStatus || resp.Header.Get("X-Request-SHA256") != hex.EncodeToString(sum[:]) {
				t.Fatalf("status %d, request hash %s; want %d and the hash of what was sent", resp.StatusCode, resp.Header.Get("X-Request-SHA256"), tc.wantStatus)
			}
			if resp.ContentLength != int64(len(got)) || resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("ContentLength = %d for %d bytes, Content-Encoding %q", resp.ContentLength, len(got), resp.Header.Get("Content-Encoding"))
			}
			if tc.wantBody != nil {
				if !bytes.Equal(got, tc.wantBody) {
					t.Errorf("body = %.200q, want %.200q", got, tc.wantBody)
				}
				return
			}
			if normalize(t, got) != normalize(t, plain) || seen.Load() != 1 {
				t.Errorf("decrypted body differs from the plaintext (OnDecrypted called %d times):\n%.300s", seen.Load(), got)
			}
		})
	}
}

// TestTransport_signersRefuseOtherTypes checks that AllowPlaintextBody
// does not let an undecrypted body of another type bypass signature
// verification.
func TestTransport_signersRefuseOtherTypes(t *testing.T) {
	t.Parallel()
	signed := sign(t, readTestdata(t, "response11.xml"), receiverID, signOpts{})
	for _, ct := range []string{"text/plain", "text/html", "application/octet-stream"} {
		srv := receiverServer(t, func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", ct)
			w.Write(signed)
		})
		clk := fakeclock.New(t0.Add(time.Minute))
		d := &wssec.Decryptor{Keys: twoKeyRing(t), Signers: trustRing(t, clk, receiverID.Certificate), Policy: wssec.Policy{AllowPlaintextBody: true}}
		resp, err := (&http.Client{Transport: &wssec.Transport{Base: srv.Client().Transport, Decryptor: d}}).Get(srv.URL)
		var ce *wssec.TransportError
		if !errors.As(err, &ce) || !errors.Is(err, wssec.ErrContentType) || ce.MediaType != ct {
			if resp != nil {
				resp.Body.Close()
			}
			t.Errorf("Get(%s) error = %v, want a *TransportError refusing %s", ct, err, ct)
		}
	}
}

func TestTransport_noDecryptor(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	if _, err := (&wssec.Transport{}).RoundTrip(req); !errors.Is(err, wssec.ErrInvalidPolicy) {
		t.Fatalf("RoundTrip without Decryptor error = %v, want %v", err, wssec.ErrInvalidPolicy)
	}
}

// TestTransport_faultWithSigners: with Signers, a Fault in the clear
// reaches the caller only when a trusted signature covers it, whatever
// the status (SOAP 1.1 sends faults with 500) and Content-Type; a forged
// one is refused, as a *FaultError where it reads as SOAP.
func TestTransport_faultWithSigners(t *testing.T) {
	t.Parallel()
	forged := []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><r:Redirect xmlns:r="urn:attacker">https://attacker.example/</r:Redirect></soapenv:Header><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>Account locked</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	signed := sign(t, forged, receiverID, signOpts{})
	for _, ct := range []string{"text/xml", "text/xml; charset=utf-8", "application/soap+xml", "application/xml", "text/plain", "text/html", "application/octet-stream", "multipart/related; type=\"application/xop+xml\"", "text/xml; charset"} {
		for _, status := range []int{http.StatusOK, http.StatusInternalServerError, http.StatusBadRequest} {
			for _, signedFault := range []bool{false, true} {
				body := forged
				if signedFault {
					body = signed
				}
				srv := receiverServer(t, func(w http.ResponseWriter) {
					w.Header().Set("Content-Type", ct)
					w.WriteHeader(status)
					w.Write(body)
				})
				clk := fakeclock.New(t0.Add(time.Minute))
				for _, pol := range []wssec.Policy{{}, {AllowPlaintextBody: true}, {AllowPlaintextBody: true, AllowUnsignedBody: true}} {
					d := &wssec.Decryptor{Keys: twoKeyRing(t), Policy: pol, Signers: trustRing(t, clk, receiverID.Certificate)}
					resp, err := (&http.Client{Transport: &wssec.Transport{Decryptor: d}}).Get(srv.URL)
					xmlType := strings.HasPrefix(ct, "text/xml;") && ct != "text/xml; charset" || ct == "text/xml" || strings.HasSuffix(ct, "/soap+xml") || ct == "application/xml"
					switch {
					case err == nil && !(signedFault && xmlType):
						resp.Body.Close()
						t.Errorf("%q %d signed=%v %+v: the Fault reached the caller", ct, status, signedFault, pol)
					case err != nil && signedFault && xmlType:
						t.Errorf("%q %d %+v: signed Fault refused: %v", ct, status, pol, err)
					case err != nil && xmlType && !errors.Is(err, wssec.ErrUnsignedFault):
						t.Errorf("%q %d %+v: error %v, want ErrUnsignedFault", ct, status, pol, err)
					case err == nil:
						resp.Body.Close()
					}
				}
			}
		}
	}
}
