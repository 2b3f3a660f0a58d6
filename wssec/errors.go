package wssec

import (
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Test for them with [errors.Is]; the typed errors below
// unwrap to them.
var (
	// ErrNoMatchingKey means that the message names a key that is not in
	// the ring, or that no key of the ring could be tried for it. It is
	// decided before any private-key operation. For an EncryptedKey the
	// error is a [*KeyError] that says what the message named
	// and what the ring holds.
	ErrNoMatchingKey = errors.New("wssec: no matching key")

	// ErrDecryptionFailed is the one error for every failure from the first
	// private-key operation on: key transport, padding, authentication tag,
	// and parsing the decrypted XML. It carries no detail on purpose, so
	// that it cannot serve as a padding or parsing oracle.
	ErrDecryptionFailed = errors.New("wssec: decryption failed")

	// ErrAlgorithmNotAllowed means that the message uses an algorithm that
	// the policy does not allow, or one this package does not implement.
	ErrAlgorithmNotAllowed = errors.New("wssec: algorithm not allowed")

	// ErrMalformed means that the message is not a SOAP envelope this
	// package can process: not well-formed XML, a DTD, duplicate Security
	// headers or Ids, broken or dangling references, or a missing element.
	ErrMalformed = errors.New("wssec: malformed message")

	// ErrLimitExceeded means that the message exceeds a size, depth or count
	// limit of the policy.
	ErrLimitExceeded = errors.New("wssec: limit exceeded")

	// ErrNotEncrypted means that the message's Body is not encrypted while
	// the policy requires it (the default).
	ErrNotEncrypted = errors.New("wssec: body not encrypted")

	// ErrRetentionNotElapsed means that a retained key cannot be removed
	// yet: it has no expiry (a receiver may still use it) or its expiry has
	// not passed. The error is a [*KeyError] whose AllowedAt says when.
	ErrRetentionNotElapsed = errors.New("wssec: retention not elapsed")

	// ErrInvalidKey means that a [Key] cannot decrypt: no Decrypter, no
	// certificate, a non-RSA key, or a certificate for another key.
	ErrInvalidKey = errors.New("wssec: invalid key")

	// ErrInvalidArgument means that a method was called on a nil value
	// that needs one, such as a nil [*Decryptor], or a [Decryptor]
	// without Keys given an encrypted message. It is a programming error,
	// not a property of the message.
	ErrInvalidArgument = errors.New("wssec: invalid argument")

	// ErrDuplicateKey means that the ring already holds the certificate.
	ErrDuplicateKey = errors.New("wssec: key already in ring")

	// ErrKeyNotFound means that the ring does not hold the certificate
	// named in a call that changes the ring.
	ErrKeyNotFound = errors.New("wssec: key not in ring")

	// ErrCurrentKey means that an operation that applies to retained keys
	// only was asked of the current key.
	ErrCurrentKey = errors.New("wssec: key is the current key")

	// ErrReadOnlyRing means that a change was asked of a ring that its
	// owner publishes read-only ([RingOptions.Publish]), such as the ring
	// of a key store: change the store instead.
	ErrReadOnlyRing = errors.New("wssec: key ring is read-only")

	// ErrSignatureInvalid means that a signature does not verify, that it
	// references something it cannot cover, or that an element the policy
	// requires to be signed is not covered by a verified signature. The
	// error is a [*MessageError].
	ErrSignatureInvalid = errors.New("wssec: signature invalid")

	// ErrUntrustedSigner means that a signature was made by a certificate
	// that is neither in the [TrustRing] nor chains to the policy's
	// SignerRoots.
	ErrUntrustedSigner = errors.New("wssec: untrusted signer")

	// ErrMessageExpired means that the message's wsu:Timestamp has expired
	// or lies in the future, beyond the allowed clock skew. The error is a
	// [*MessageError] whose Reason gives the Timestamp's Created and
	// Expires, the clock reading and the allowed skew.
	ErrMessageExpired = errors.New("wssec: message expired")

	// ErrInvalidPolicy means that a [Policy] or [Encryptor] field holds a
	// value that is unknown or contradicts another field.
	ErrInvalidPolicy = errors.New("wssec: invalid policy")

	// ErrKeyCapability means that the key a message is for cannot perform
	// the message's key transport (such as OAEP with SHA-256 through a
	// token that offers SHA-1 only). It is decided from the message and
	// the ring before the key is used; the error is a [*KeyError] naming
	// the key, the algorithm and what the key cannot do. ErrKeyCapability
	// is a special case of [ErrAlgorithmNotAllowed]: errors.Is matches
	// both.
	ErrKeyCapability error = &narrowerError{"wssec: key cannot perform the algorithm", ErrAlgorithmNotAllowed}
)

// MessageError reports why a message was refused, before any key was used
// or from authenticated content, with non-secret context. Its Err field is
// the sentinel: [ErrMalformed], [ErrLimitExceeded],
// [ErrAlgorithmNotAllowed], [ErrSignatureInvalid], [ErrUntrustedSigner]
// or [ErrMessageExpired].
// It never holds plaintext or key material; Reason holds no message
// content beyond Id values and algorithm identifiers.
type MessageError struct {
	// Err is the sentinel the error unwraps to.
	Err error
	// Reason says what is wrong.
	Reason string
	// URI is the algorithm identifier as the message or configuration
	// gave it, for [ErrAlgorithmNotAllowed]; "" otherwise.
	URI string
	// Limit names the exceeded limit, such as the [Policy] field
	// "MaxMessageBytes", and Max is the limit in force, for
	// [ErrLimitExceeded]; "" and 0 otherwise.
	Limit string
	Max   int64
}

func (e *MessageError) Error() string {
	s := errText(e.Err, "wssec: message refused")
	switch {
	case e.Limit != "":
		return fmt.Sprintf("%s: %s (%d)", s, e.Limit, e.Max)
	case e.URI != "":
		s += ": " + e.URI
		if e.Reason != "" {
			s += " (" + e.Reason + ")"
		}
		return s
	case e.Reason != "":
		return s + ": " + e.Reason
	}
	return s
}

// Unwrap returns the sentinel in Err.
func (e *MessageError) Unwrap() error { return e.Err }

// limitError reports the limit named limit, of max.
func limitError(limit string, max int64) *MessageError {
	return &MessageError{Err: ErrLimitExceeded, Limit: limit, Max: max}
}

// algorithmRefused reports the algorithm uri, refused for reason.
func algorithmRefused(uri, reason string) *MessageError {
	return &MessageError{Err: ErrAlgorithmNotAllowed, URI: uri, Reason: reason}
}

// isLimit reports whether err is a limit this package reports.
func isLimit(err error) bool {
	var me *MessageError
	return errors.As(err, &me) && me.Err == ErrLimitExceeded
}

// isMalformed reports whether err is this package's malformed-message
// error.
func isMalformed(err error) bool {
	var me *MessageError
	return errors.As(err, &me) && me.Err == ErrMalformed
}

// isMalformedOrLimit reports whether err is a structural error of this
// package: a malformed message or an exceeded limit.
func isMalformedOrLimit(err error) bool {
	var me *MessageError
	return errors.As(err, &me) && (me.Err == ErrMalformed || me.Err == ErrLimitExceeded)
}

// KeyError reports why a [Key] was refused, which key an operation on the
// ring was about, a key transport a key cannot perform (Err is
// [ErrKeyCapability]), a refused removal of a retained key (Err is
// [ErrRetentionNotElapsed], and AllowedAt says when the removal becomes
// allowed), or an EncryptedKey that no key of the ring fits (Err is
// [ErrNoMatchingKey]). It unwraps to its Err field.
//
// For [ErrNoMatchingKey] it says what the message asked for and what the
// ring holds, so that an operator can tell which certificate the sender
// encrypted to. Everything in it was read before any private-key
// operation and depends only on the message's key references and the
// ring: it is no oracle. It never holds key material or message content
// other than the references as the sender wrote them.
type KeyError struct {
	// Fingerprint is the SHA-256 fingerprint of the key's certificate;
	// zero if there is no certificate.
	Fingerprint Fingerprint
	// Reason says what is wrong, if there is more to say than Err.
	Reason string
	// AllowedAt is, for [ErrRetentionNotElapsed], when the removal
	// becomes allowed; zero if the key has no expiry yet, that is, a
	// receiver may still use it. Zero for the other errors.
	AllowedAt time.Time

	// The EncryptedKey no key fits, for [ErrNoMatchingKey] (zero for the
	// other errors): KeyID is its Id attribute, or "" if it has none;
	// Position its place among the message's EncryptedKeys, from 1
	// (those of the Security header first, in document order, then those
	// inside an EncryptedData's KeyInfo); InHeader whether it is in the
	// Security header; DataIDs the Ids of the EncryptedData it was to
	// decrypt; Recipient its Recipient attribute, if any.
	KeyID     string
	Position  int
	InHeader  bool
	DataIDs   []string
	Recipient string
	// References are the key references of the EncryptedKey's KeyInfo,
	// in document order, for [ErrNoMatchingKey]; empty if it has none
	// this package can use.
	References []KeyReference
	// Ring holds the fingerprints of the ring's keys when the message was
	// processed, the current key first, for [ErrNoMatchingKey].
	Ring []Fingerprint

	// Err is one of the sentinels of this package.
	Err error
}

func (e *KeyError) Error() string {
	if e.Err == ErrRetentionNotElapsed {
		if e.AllowedAt.IsZero() {
			return fmt.Sprintf("wssec: retention not elapsed: key %s has no expiry yet (a receiver may still use it)", e.Fingerprint.String())
		}
		return fmt.Sprintf("wssec: retention not elapsed: key %s may be removed from %s", e.Fingerprint.String(), e.AllowedAt.UTC().Format(time.RFC3339))
	}
	if e.Err == ErrNoMatchingKey && e.Position > 0 {
		return e.noMatchText()
	}
	msg := errText(e.Err, "wssec: key error")
	if e.Fingerprint != (Fingerprint{}) {
		msg += ": key " + e.Fingerprint.String()
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap returns the sentinel in Err.
func (e *KeyError) Unwrap() error { return e.Err }

// narrowerError is a sentinel that is a special case of another, so that
// errors.Is matches both: [ErrKeyCapability] is an
// [ErrAlgorithmNotAllowed].
type narrowerError struct {
	msg string
	of  error
}

func (e *narrowerError) Error() string { return e.msg }

func (e *narrowerError) Unwrap() error { return e.of }

// capabilityRefused reports that a key cannot perform the key transport
// kt with the OAEP digest and MGF1 hash (zero for RSA-1_5), for reason.
func capabilityRefused(kt string, digest, mgf crypto.Hash, reason string) *KeyError {
	s := kt
	if digest != 0 {
		s += fmt.Sprintf(" (digest %v, MGF1 %v)", digest, mgf)
	}
	return &KeyError{Err: ErrKeyCapability, Reason: s + ": " + reason}
}

func malformed(format string, args ...any) error {
	return &MessageError{Err: ErrMalformed, Reason: fmt.Sprintf(format, args...)}
}

// Errors of the Transport's content checks.
var (
	// ErrContentType means that the [Transport] refused a response for
	// its Content-Type: one that does not parse, MTOM/XOP, a charset
	// other than UTF-8, or a type that cannot hold a SOAP envelope with a
	// non-empty body. The error is a [*TransportError] whose ContentType
	// and MediaType say what was refused.
	ErrContentType = errors.New("wssec: response content type refused")
)

// Signature verification: unsigned SOAP Faults.

// ErrUnsignedFault means that, with signature verification on, the
// message is a SOAP Fault that no verified signature covers. Such a Fault
// may come from anyone and is never returned as a response; the error is
// a [*FaultError] that carries it for diagnostics.
var ErrUnsignedFault = errors.New("wssec: unsigned SOAP fault")

// FaultError reports a SOAP Fault refused because no verified signature
// covers it. Its fields hold what the unauthenticated Fault says, for
// logs and diagnostics only: nothing in it is authentic. Error() does not
// repeat them.
type FaultError struct {
	// Code is the fault code as written (SOAP 1.1 faultcode, SOAP 1.2
	// Code/Value).
	Code string
	// Reason is the fault string (SOAP 1.1 faultstring, SOAP 1.2 the
	// first Reason/Text).
	Reason string
	// Envelope is the message holding the Fault, decrypted where it was
	// encrypted.
	Envelope []byte
	// Cause is why the Fault counts as unsigned, usually a
	// [*MessageError] for [ErrSignatureInvalid].
	Cause error
}

func (e *FaultError) Error() string {
	if e.Cause == nil {
		return ErrUnsignedFault.Error()
	}
	return ErrUnsignedFault.Error() + ": " + e.Cause.Error()
}

// Unwrap returns [ErrUnsignedFault] and the cause in Cause, so that
// errors.Is matches both.
func (e *FaultError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrUnsignedFault}
	}
	return []error{ErrUnsignedFault, e.Cause}
}

// errText returns err's text, or fallback for a nil err, so that a typed
// error built without its sentinel still prints instead of panicking.
func errText(err error, fallback string) string {
	if err == nil {
		return fallback
	}
	return err.Error()
}

// noMatchText is KeyError's text for an EncryptedKey no key fits.
func (e *KeyError) noMatchText() string {
	var b strings.Builder
	b.WriteString("wssec: no matching key: EncryptedKey")
	if e.KeyID != "" {
		fmt.Fprintf(&b, " %q", e.KeyID)
	}
	where := "in an EncryptedData's KeyInfo"
	if e.InHeader {
		where = "in the Security header"
	}
	fmt.Fprintf(&b, " (#%d, %s): %s", e.Position, where, e.Reason)
	if len(e.References) > 0 {
		b.WriteString("; message names ")
		for i, r := range e.References {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(r.String())
		}
	}
	b.WriteString("; ring holds ")
	if len(e.Ring) == 0 {
		b.WriteString("no key")
	}
	for i, f := range e.Ring {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// KeyReference is one key reference of an EncryptedKey's KeyInfo, as the
// sender wrote it.
type KeyReference struct {
	// Kind names the construct: "X509IssuerSerial", "X509SKI",
	// "ThumbprintSHA1", "X509Certificate", "X509SubjectName", "KeyName",
	// "KeyValue" or "X509Digest".
	Kind string
	// Value is the reference in text: the issuer name and the decimal
	// serial number; the SKI, thumbprint or digest in lower-case hex; the
	// subject or key name as written; for a certificate its SHA-256
	// fingerprint and subject; for a KeyValue the SHA-256 digest of the
	// modulus and its size in bits. Names are cut to 200 bytes.
	Value string
	// Fingerprint is the SHA-256 fingerprint of a certificate carried in
	// the message (Kind "X509Certificate"), otherwise zero.
	Fingerprint Fingerprint
}

// String returns the kind and value, quoted.
func (r KeyReference) String() string { return fmt.Sprintf("%s %q", r.Kind, r.Value) }

// timestampRefused reports a wsu:Timestamp outside its validity, for
// reason ("expired" or "created in the future"), with the times that
// decided it: the Timestamp's Created and Expires (zero if absent), the
// clock reading now and the allowed skew.
func timestampRefused(reason string, created, expires, now time.Time, skew time.Duration) *MessageError {
	s := "Timestamp " + reason + " ("
	if !created.IsZero() {
		s += "Created " + created.UTC().Format(time.RFC3339) + ", "
	}
	if !expires.IsZero() {
		s += "Expires " + expires.UTC().Format(time.RFC3339) + ", "
	}
	s += "now " + now.UTC().Format(time.RFC3339) + ", allowed skew " + skew.String() + ")"
	return &MessageError{Err: ErrMessageExpired, Reason: s}
}
