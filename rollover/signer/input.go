package signer

import (
	"crypto/x509"
	"fmt"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// maxChainLen bounds the chain that comes with a partner's certificate.
const maxChainLen = 8

// Certificate is a partner's signing certificate as its administrator
// hands it over, for [Untrusted.Trust] and [Trusted.AddCertificate].
type Certificate struct {
	// Certificate is the certificate whose key signs the partner's
	// responses; required. Its key must be RSA of at least 2048 bits or
	// ECDSA on P-256, P-384 or P-521, and it must not have expired.
	Certificate *x509.Certificate
	// Chain optionally holds the CA certificates that issued it, the
	// last one the anchor: if set, Certificate must chain to it at the
	// clock's time, as a check that the file received is the one the
	// partner's CA issued. At most 8. Verification trusts Certificate
	// itself either way (it is pinned in the trust ring), not the chain.
	Chain []*x509.Certificate
	// By names who announced it on the partner's side, and Reference
	// finds the announcement again, such as a ticket.
	By        string
	Reference string
	// Note is free text for the audit trail.
	Note string
}

// Confirmation is a partner's word that it signs its responses with its
// new key, or the evidence that it does
// ([CertificateAdded.ConfirmPartnerSwitched]).
type Confirmation struct {
	// By names who confirmed on the partner's side.
	By string
	// Reference finds the confirmation again, such as a ticket.
	Reference string
	// Note is free text for the audit trail.
	Note string
	// FromEvidence confirms the switch on the evidence of a response
	// signed with the new certificate instead of the partner's word. If
	// false, the step records the partner's word without evidence.
	FromEvidence bool
}

// checkCertificate validates c at the Manager's clock's time, before any
// I/O.
func (m *Manager) checkCertificate(c Certificate) error {
	now := m.now()
	if c.Certificate == nil {
		return fmt.Errorf("%w: no certificate", rollover.ErrInvalidArgument)
	}
	if err := procedure.CheckTexts("by", c.By, "reference", c.Reference, "note", c.Note); err != nil {
		return err
	}
	if _, err := wssec.NewTrustRing(c.Certificate, wssec.RingOptions{Now: m.opts.Now}); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCertificate, err)
	}
	if now.After(c.Certificate.NotAfter) {
		return fmt.Errorf("%w: certificate expired at %s", ErrInvalidCertificate, c.Certificate.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(c.Chain) == 0 {
		return nil
	}
	if len(c.Chain) > maxChainLen || slices.Contains(c.Chain, nil) {
		return fmt.Errorf("%w: chain must hold 1 to %d certificates", rollover.ErrInvalidArgument, maxChainLen)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for i, x := range c.Chain {
		if i == len(c.Chain)-1 {
			roots.AddCert(x)
		} else {
			inter.AddCert(x)
		}
	}
	_, err := c.Certificate.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("%w: does not chain to the chain given: %w", ErrInvalidCertificate, err)
	}
	return nil
}
