package keystore

import (
	"crypto/x509"
	"fmt"
	"maps"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Status is the role of an entry in the store.
type Status int

// Entry statuses.
const (
	// StatusPending marks a key that is stored but not in the key ring,
	// such as a generated key waiting for its CA-signed certificate.
	// Receivers must not be given its certificate yet.
	StatusPending Status = iota + 1
	// StatusCurrent marks the one key receivers are told to encrypt to.
	StatusCurrent
	// StatusRetained marks a key that stays in the ring to decrypt messages
	// encrypted to it, until its expiry (none yet, if zero).
	StatusRetained
	// StatusDisabled marks a retained key taken out of the key ring for a
	// restore window before it is destroyed ([Tx.Disable]): a message
	// encrypted to it is refused, and [Tx.Retain] puts it back.
	StatusDisabled
)

// String returns "pending", "current", "retained" or "disabled".
func (s Status) String() string {
	switch s {
	case StatusPending:
		return "pending"
	case StatusCurrent:
		return "current"
	case StatusRetained:
		return "retained"
	case StatusDisabled:
		return "disabled"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

func parseStatus(s string) (Status, bool) {
	switch s {
	case "pending":
		return StatusPending, true
	case "current":
		return StatusCurrent, true
	case "retained":
		return StatusRetained, true
	case "disabled":
		return StatusDisabled, true
	}
	return 0, false
}

// provided reports whether the key was handed to a receiver.
func (e *Entry) provided() bool { return !e.Provided.IsZero() }

// inRing reports whether entries of the status belong in the key ring.
func (s Status) inRing() bool { return s == StatusCurrent || s == StatusRetained }

// Entry describes one key of the store. It holds no private key material.
// Entries returned by this package are copies; only the certificates are
// shared.
type Entry struct {
	// Alias names the entry in the store and is the key's Name in the
	// key ring.
	Alias  string
	Status Status
	// Created is when the entry was added to the store.
	Created time.Time
	// Expires is when a retained key may be removed. Zero means no expiry
	// yet: a receiver may still encrypt to it. Always zero for current and
	// pending keys.
	Expires time.Time
	// Provided is when the key's certificate was first handed to a
	// receiver, as far as the store knows ([Tx.MarkProvided]; a key that
	// was current before another key became current counts as provided
	// from then on). Zero means never. Once set it is never cleared: the
	// store refuses to remove a provided key before its expiry, to move
	// its expiry earlier, and to remove it as current ([Tx.Remove]).
	Provided time.Time
	// RetainUntil is the latest expiry the entry ever had: a later
	// [Tx.Retain] may clear the expiry or move it later, never before
	// RetainUntil. Zero if it never had one.
	RetainUntil time.Time
	// DisabledAt is when the entry was disabled and DestroyAfter when its
	// restore window ends and the store destroys it; both zero unless the
	// status is [StatusDisabled].
	DisabledAt, DestroyAfter time.Time
	// Certificate is the key's certificate; Chain the certificates that
	// came with it, in the order they came. Both are shared and must not
	// be modified.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// Fingerprint is the SHA-256 digest of the certificate.
	Fingerprint wssec.Fingerprint
	// Labels are free-form, caller-defined annotations.
	Labels map[string]string
	// Location says where the private key lives, as a URI-like string:
	// "blob:NAME" for a PKCS#12 file of the store's backend, or the
	// canonical pkcs11: URI of a key in a PKCS#11 token, which
	// [ParseTokenURI] reads.
	Location string
}

// String describes the entry by alias, status and fingerprint.
func (e Entry) String() string {
	return fmt.Sprintf("%s (%s, %s)", e.Alias, e.Status, e.Fingerprint.String())
}

// clone returns a copy that shares no map or slice with e.
func (e Entry) clone() Entry {
	e.Chain = append([]*x509.Certificate(nil), e.Chain...)
	if e.Labels != nil {
		e.Labels = maps.Clone(e.Labels)
	}
	return e
}
