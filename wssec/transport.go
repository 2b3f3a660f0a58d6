package wssec

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wsrenew/wsrenew/internal/soap"
	"github.com/wsrenew/wsrenew/internal/xmlscan"
)

// Transport is an [http.RoundTripper] that decrypts WS-Security encrypted
// SOAP responses in place, so that any Go SOAP client — hand-written
// net/http code, or a generated client that takes an *http.Client — gets
// decryption by changing one line:
//
//	client := &http.Client{Transport: &wssec.Transport{Decryptor: d}}
//
// Requests go out untouched, their bodies streamed as they are. A
// response body is read up to the policy's MaxMessageBytes, decrypted, and
// handed on with the plaintext envelope as its body and a matching
// Content-Length.
//
// Transport fails closed: a non-empty response body that was not
// decrypted never reaches the caller, whatever its Content-Type says,
// because Go SOAP clients parse the body whatever the header says. The
// exceptions are a body of white space only, a SOAP Fault that is not
// encrypted (partners often send faults in the clear; with Signers it
// must be signed, or it is a [*FaultError]), and, when the
// policy sets AllowPlaintextBody, an unencrypted envelope. In detail:
//
//   - text/xml, application/soap+xml, application/xml, or no Content-Type:
//     the body is decrypted as a SOAP envelope ([Decryptor.Decrypt]), so
//     an unencrypted one is [ErrNotEncrypted] unless the policy allows it;
//   - a charset parameter other than UTF-8 (or US-ASCII, whose bytes are
//     then checked) is refused, never ignored: the envelope is read as
//     UTF-8;
//   - a Content-Type that does not parse, including a parameter without a
//     value (text/xml; charset), or that appears twice, is refused;
//   - MTOM (multipart/related, application/xop+xml) is not supported and
//     refused;
//   - any other type (an HTML error page from a proxy, say) with a
//     non-empty body is refused, unless the policy sets
//     AllowPlaintextBody and the Decryptor has no Signers: then it passes
//     through unchanged, unread.
//
// Refused content types are a [*TransportError] for [ErrContentType]. An empty body (or HTTP 204) passes
// through whatever its type.
//
// Failures are returned as a [*TransportError], which carries the HTTP
// status and unwraps to the decryption error, so errors.Is works with the
// sentinels of this package. Transport never logs.
//
// A Transport is safe for concurrent use if its fields are not changed
// after first use.
type Transport struct {
	// Base sends the requests. If nil, http.DefaultTransport.
	Base http.RoundTripper

	// Decryptor decrypts the responses. It is required; its Policy decides
	// the limits and whether unencrypted responses are accepted.
	Decryptor *Decryptor

	// OnDecrypted, if set, is called after each successful decryption
	// with the request and the result, for example to record which key
	// which receiver used. It must not modify the result and must be safe
	// for concurrent use.
	OnDecrypted func(*http.Request, *Result)
}

// TransportError reports a response that could not be decrypted.
type TransportError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// ContentType is the response's Content-Type as received, shortened
	// to 100 bytes, and MediaType its parsed media type (or ""), when the
	// Content-Type was refused; both empty otherwise.
	ContentType, MediaType string
	// Err is [ErrContentType] when the Content-Type was refused, and nil
	// otherwise.
	Err error
	// Cause is why: an error of this package (see [Decryptor.Decrypt]),
	// a read error, or what is wrong with the refused Content-Type.
	Cause error
}

func (e *TransportError) Error() string {
	s := fmt.Sprintf("wssec: response (HTTP %d)", e.StatusCode)
	if e.Err != nil {
		s += fmt.Sprintf(": %v: %q", e.Err, e.ContentType)
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns Err and Cause, those that are set, so that [errors.Is]
// matches [ErrContentType] as well as the sentinels of a decryption.
func (e *TransportError) Unwrap() []error {
	var out []error
	for _, err := range []error{e.Err, e.Cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// RoundTrip sends req through Base and decrypts the response. It does not
// modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Decryptor == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w: Transport without a Decryptor", ErrInvalidPolicy)
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNoContent || resp.Body == nil || resp.Body == http.NoBody {
		return resp, nil
	}
	fail := func(err error) (*http.Response, error) {
		resp.Body.Close()
		return nil, &TransportError{StatusCode: resp.StatusCode, Cause: err}
	}
	pol, err := t.Decryptor.policy()
	if err != nil {
		return fail(err)
	}
	media, ctErr := classifyContentType(resp.Header.Values("Content-Type"))
	if media == mediaOther && pol.plaintextBody && t.Decryptor.Signers == nil {
		return resp, nil // the caller accepts unverified plaintext anyway
	}
	if resp.ContentLength > pol.maxBytes {
		return fail(limitError("MaxMessageBytes", pol.maxBytes))
	}
	body, err := readBody(resp, pol.maxBytes)
	resp.Body.Close()
	if err != nil {
		return nil, &TransportError{StatusCode: resp.StatusCode, Cause: err}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return withBody(resp, body), nil
	}
	if ctErr == nil && media == mediaASCII {
		ctErr = checkASCII(resp.Header.Get("Content-Type"), body)
	}
	if ctErr != nil {
		return nil, ctErr.transportError(resp.StatusCode)
	}
	res, err := t.Decryptor.Decrypt(body)
	switch {
	case errors.Is(err, ErrNotEncrypted) && !errors.Is(err, ErrUnsignedFault) && isFault(body, pol):
		return withBody(resp, body), nil
	case err != nil:
		return nil, &TransportError{StatusCode: resp.StatusCode, Cause: err}
	}
	if t.OnDecrypted != nil {
		t.OnDecrypted(req, res)
	}
	return withBody(resp, res.Envelope), nil
}

// readBody reads at most max bytes of the response body, decompressing
// gzip within the same bound; more is ErrLimitExceeded, without reading
// the rest.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	r := io.Reader(resp.Body)
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(resp.Body, max+1))
		if err != nil {
			return nil, malformed("gzip response: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, malformed("response Content-Encoding %q is not supported", enc)
	}
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("wssec: read response: %w", err)
	}
	if int64(len(body)) > max {
		return nil, limitError("MaxMessageBytes", max)
	}
	return body, nil
}

// withBody returns resp with body as its (uncompressed) body.
func withBody(resp *http.Response, body []byte) *http.Response {
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Uncompressed = resp.Uncompressed || resp.Header.Get("Content-Encoding") != ""
	resp.Header.Del("Content-Encoding")
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp
}

// isFault reports whether body is a SOAP envelope whose Body holds a
// Fault.
func isFault(body []byte, pol *compiled) bool {
	tr, err := xmlscan.ParseTree(body, pol.limits, nil)
	if err != nil {
		return false
	}
	env, err := soap.NewEnvelope(tr.Doc, tr.Names)
	if err != nil {
		return false
	}
	kids := env.Body.ChildElements()
	return len(kids) == 1 && env.Names.Is(kids[0], env.NS, "Fault")
}
