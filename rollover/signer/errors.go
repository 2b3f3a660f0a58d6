package signer

import (
	"errors"

	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// Sentinel errors of the partners' renewals. Test for them with
// errors.Is. The steps also return rollover's sentinels and typed errors
// ([rollover.ErrStaleStage], [rollover.StageError],
// [rollover.RemovalError], [rollover.StateError]),
// which both procedures share. No error contains key material.
var (
	// ErrUnknownPartner means that no signing certificate of the partner
	// is trusted: [Untrusted.Trust] has not been taken for it.
	ErrUnknownPartner = errors.New("rollover: no certificate of the partner is trusted")

	// ErrInvalidCertificate means that a partner's signing certificate
	// cannot be trusted: its key is neither RSA of at least 2048 bits nor
	// ECDSA on P-256, P-384 or P-521 (the error also matches
	// [wssec.ErrInvalidKey]), it has expired, it does not chain to the
	// chain given with it, or it is trusted already.
	ErrInvalidCertificate = errors.New("rollover: invalid signing certificate")

	// ErrNoEvidence means that a partner's switch was to be confirmed from
	// evidence while no response signed with its new certificate has been
	// recorded.
	ErrNoEvidence = errors.New("rollover: no response signed with the new certificate recorded")

	// ErrPartnerNotSwitched means that a partner's old certificate was to
	// be removed while its confirmation that it signs with the new one was
	// withdrawn. The error is a [*rollover.RemovalError].
	ErrPartnerNotSwitched = procedure.ErrPartnerNotSwitched

	// ErrCertificateInUse means that a partner's certificate was to be
	// removed although it verified a signature less than the guaranteed
	// delivery time ago: the old one after the partner's switch, or the
	// new one when its addition was to be cancelled. The error is a
	// [*rollover.RemovalError].
	ErrCertificateInUse = procedure.ErrCertificateInUse
)
