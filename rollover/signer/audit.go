package signer

import "github.com/wsrenew/wsrenew/rollover"

// Actions of the audit trail of a partner's signing-certificate renewal;
// their records name the partner ([rollover.Record].Partner). The trail
// is the one [rollover.History] reads.
const (
	// The first certificate of a partner trusted.
	ActionTrustCertificate rollover.Action = "trust-partner-certificate"
	// Step 1: the partner's new certificate added to the trust ring.
	ActionAddCertificate rollover.Action = "add-partner-certificate"
	// Step 2: the partner signs with the new certificate, by its word or
	// by evidence; then the old certificate's expiry.
	ActionConfirmPartnerSwitched      rollover.Action = "confirm-partner-switched"
	ActionWithdrawPartnerConfirmation rollover.Action = "withdraw-partner-confirmation"
	ActionSetOldCertificateExpiry     rollover.Action = "set-old-certificate-expiry"
	// Step 3.
	ActionRemoveOldCertificate rollover.Action = "remove-old-certificate"
	// Removing the new certificate again before the partner's switch.
	ActionCancelCertificate rollover.Action = "cancel-partner-certificate"
	// Evidence: the first response signed with the new certificate, and
	// responses signed with the old one after the partner's switch.
	ActionNewCertificateFirstUse              rollover.Action = "new-certificate-first-use"
	ActionOldCertificateUsedAfterConfirmation rollover.Action = "old-certificate-used-after-confirmation"
)
