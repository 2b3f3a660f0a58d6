package wssec_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/wsrenew/wsrenew/wssec"
)

// roundTripFunc is a Base for the Transport that answers without a
// network, so that fuzzing exercises only the Transport and Decrypt.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzTransport checks the Transport's fail-closed rule on any status,
// Content-Type and body: no panic; every error is a *TransportError that
// unwraps to a documented sentinel; and a response that gets through with
// a body that was not decrypted holds only white space or an unencrypted
// SOAP Fault.
func FuzzTransport(f *testing.F) {
	plain := readTestdata(f, "response11.xml")
	enc := encrypt(f, &wssec.Encryptor{Certificate: oldID.Certificate}, plain)
	for _, ct := range []string{
		"", "text/xml", "text/xml; charset=utf-8", "text/xml; charset", "application/soap+xml; action=\"urn:x\"",
		"text/plain", "text/html", "application/octet-stream", "multipart/related; type=\"application/xop+xml\"",
		"application/xop+xml", "text/xml; charset=iso-8859-1", "text/xml; charset=us-ascii", "text/xml;;",
	} {
		for _, body := range [][]byte{enc, plain, []byte(faultXML), []byte("<html/>"), nil} {
			f.Add(uint16(200), ct, body)
		}
	}
	f.Add(uint16(500), "text/xml", []byte(faultXML))
	f.Add(uint16(204), "text/html", []byte("x"))
	ring := twoKeyRing(f)
	documentedTransport := append([]error{wssec.ErrContentType}, documented...)
	f.Fuzz(func(t *testing.T, status uint16, ct string, body []byte) {
		code := 100 + int(status)%500
		var decrypted atomic.Bool
		tr := &wssec.Transport{
			Decryptor: &wssec.Decryptor{Keys: ring},
			Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				h := http.Header{}
				if ct != "" {
					h.Set("Content-Type", ct)
				}
				return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
					ContentLength: int64(len(body)), Request: r}, nil
			}),
			OnDecrypted: func(*http.Request, *wssec.Result) { decrypted.Store(true) },
		}
		req, _ := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			var te *wssec.TransportError
			if !errors.As(err, &te) || te.StatusCode != code {
				t.Fatalf("RoundTrip() error = %v, want a *TransportError with status %d", err, code)
			}
			for _, want := range documentedTransport {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("RoundTrip() error = %v, not a documented error", err)
		}
		got, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr != nil {
			t.Fatalf("reading the body: %v", rerr)
		}
		if decrypted.Load() || code == http.StatusNoContent || len(bytes.TrimSpace(got)) == 0 {
			return
		}
		if !bytes.Equal(got, body) || !bytes.Contains(got, []byte("Fault")) {
			t.Fatalf("RoundTrip(%d, %q) passed an undecrypted body that is not a SOAP Fault:\n%.300q", code, ct, got)
		}
		if _, err := (&wssec.Decryptor{Keys: ring}).Decrypt(got); !errors.Is(err, wssec.ErrNotEncrypted) {
			t.Fatalf("RoundTrip(%d, %q) passed a body that Decrypt reports as %v", code, ct, err)
		}
	})
}
