package wssec

import (
	"errors"
	"mime"
	"strings"
)

// mediaClass is what the Transport makes of a response's Content-Type.
type mediaClass int

const (
	mediaXML   mediaClass = iota // an XML type in UTF-8, or no Content-Type
	mediaASCII                   // an XML type declared US-ASCII
	mediaOther                   // a type that cannot hold a SOAP envelope
	mediaBad                     // refused whatever the body: see the error
)

// maxContentTypeInError bounds how much of a Content-Type an error quotes.
const maxContentTypeInError = 100

// classifyContentType decides how the Transport treats a response with
// the given Content-Type header values. A refused type comes with a
// *contentTypeRefusal; mediaOther comes without one, since whether it is
// refused depends on the policy and the body.
func classifyContentType(values []string) (mediaClass, *contentTypeRefusal) {
	switch len(values) {
	case 0:
		return mediaXML, nil // some servers send none
	case 1:
	default:
		return mediaBad, contentTypeError(strings.Join(values, ", "), "", "the response has more than one Content-Type")
	}
	ct := values[0]
	if strings.TrimSpace(ct) == "" {
		return mediaXML, nil
	}
	// mime.ParseMediaType returns the type together with an error when a
	// parameter is broken ("text/xml; charset"): the type alone must not
	// be trusted then, since the parameter may be what a client reads.
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return mediaBad, contentTypeError(ct, mt, "the Content-Type does not parse")
	}
	switch mt {
	case "text/xml", "application/soap+xml", "application/xml":
	case "multipart/related", "application/xop+xml":
		return mediaBad, contentTypeError(ct, mt, "MTOM/XOP responses are not supported")
	default:
		return mediaOther, contentTypeError(ct, mt, "a non-empty body of this type is not a SOAP response")
	}
	cs, ok := params["charset"]
	switch {
	case !ok, strings.EqualFold(cs, "utf-8"):
		return mediaXML, nil
	case strings.EqualFold(cs, "us-ascii"):
		return mediaASCII, nil
	}
	return mediaBad, contentTypeError(ct, mt, "only UTF-8 (or US-ASCII) responses are read")
}

// checkASCII honours a US-ASCII charset: a byte outside ASCII would be read
// differently by a client that decodes the declared charset.
func checkASCII(ct string, body []byte) *contentTypeRefusal {
	for _, b := range body {
		if b >= 0x80 {
			return contentTypeError(ct, "", "a US-ASCII response holds a byte outside ASCII")
		}
	}
	return nil
}

// contentTypeRefusal is why the Transport refuses a Content-Type; it
// becomes a [*TransportError] for [ErrContentType].
type contentTypeRefusal struct {
	contentType, mediaType, reason string
}

func (r *contentTypeRefusal) transportError(status int) *TransportError {
	return &TransportError{StatusCode: status, ContentType: r.contentType, MediaType: r.mediaType,
		Err: ErrContentType, Cause: errors.New(r.reason)}
}

func contentTypeError(ct, mt, reason string) *contentTypeRefusal {
	if len(ct) > maxContentTypeInError {
		ct = ct[:maxContentTypeInError] + "…"
	}
	return &contentTypeRefusal{contentType: ct, mediaType: mt, reason: reason}
}
