package rollover

import (
	"crypto/x509"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Stages of a partner's signing-certificate renewal, as the store keeps
// them. Each names the state
// reached; the steps that lead on from it are methods of its type.
const (
	// SignerStageUntrusted: no certificate of the partner is trusted
	// ([SignerUntrusted]). The store does not hold this stage; it is
	// that of every partner it does not know.
	SignerStageUntrusted StageName = "untrusted"
	// SignerStageTrusted: one certificate of the partner is trusted and
	// no renewal is in progress ([SignerTrusted]).
	SignerStageTrusted StageName = "trusted"
	// SignerStageCertificateAdded: step 1 done, the partner's new
	// certificate is trusted beside the old one, which has no expiry
	// ([SignerCertificateAdded]).
	SignerStageCertificateAdded StageName = "certificate-added"
	// SignerStageSwitched: step 2 done, the partner signs with the new
	// certificate and the old one is trusted until its expiry
	// ([SignerSwitched]).
	SignerStageSwitched StageName = "partner-switched"
)

// SignerStage is the stage of one partner's signing-certificate renewal:
// [*SignerUntrusted], [*SignerTrusted], [*SignerCertificateAdded] or
// [*SignerSwitched]. Switch on the type to reach the next step;
// [SignerReport.Stage] names it.
//
// A stage value is a snapshot of the persisted state: immutable and safe
// for concurrent use. A step taken from it persists the change and
// returns the next stage; the value it was taken from is stale from then
// on, and a step taken from a stale value is refused with
// [ErrStaleStage] without changing anything. Steps for other partners do
// not make it stale.
type SignerStage interface {
	// Report describes the stage, the certificates and the evidence
	// collected, at the Manager's clock's time.
	Report() SignerReport

	signer() *signerBase
}

// signerBase is what every signer stage holds: its Manager, the partner,
// and the persisted state it was built from (nil when untrusted), which
// is never modified.
type signerBase struct {
	m       *Manager
	partner string
	ps      *partnerState
}

func (b *signerBase) ok() bool { return b != nil && b.m != nil && b.partner != "" }

func (b *signerBase) partnerID() string {
	if b == nil {
		return ""
	}
	return b.partner
}

func (b *signerBase) seq() uint64 {
	if b.ps == nil {
		return 0
	}
	return b.ps.Seq
}

func (b *signerBase) renewal() uint64 {
	if b == nil || b.ps == nil {
		return 0
	}
	return b.ps.Renewal
}

func (b *signerBase) stage() StageName {
	if b == nil || b.ps == nil {
		return SignerStageUntrusted
	}
	return b.ps.Stage
}

// SignerUntrusted is the stage of a partner none of whose certificates is
// trusted. Its only step is [SignerUntrusted.Trust], which trusts the
// partner's current signing certificate.
type SignerUntrusted struct{ b signerBase }

// SignerTrusted is the stage with one trusted certificate of the partner
// and no renewal in progress. When the partner announces a new signing
// certificate, [SignerTrusted.AddCertificate] is step 1.
type SignerTrusted struct{ b signerBase }

// SignerCertificateAdded is the stage after step 1: the partner's new
// certificate is the trust ring's current one, and the old certificate is
// retained with no expiry, so responses signed with either verify. It
// lasts until the partner confirms that it signs with the new key
// ([SignerCertificateAdded.ConfirmPartnerSwitched],
// [PartnerConfirmation.FromEvidence]); before that the new
// certificate can be removed again ([SignerCertificateAdded.Cancel]).
type SignerCertificateAdded struct{ b signerBase }

// SignerSwitched is the stage after step 2: the partner signs with the
// new certificate, and the old one is trusted until its expiry, the
// confirmation plus the retention period. Next:
// [SignerSwitched.RemoveOldCertificate] (step 3), or
// [SignerSwitched.WithdrawConfirmation] if the partner went back to the
// old key.
type SignerSwitched struct{ b signerBase }

// Report describes the stage; see [SignerReport].
func (s *SignerUntrusted) Report() SignerReport { return s.signer().report() }

// Report describes the stage; see [SignerReport].
func (s *SignerTrusted) Report() SignerReport { return s.signer().report() }

// Report describes the stage; see [SignerReport].
func (s *SignerCertificateAdded) Report() SignerReport { return s.signer().report() }

// Report describes the stage; see [SignerReport].
func (s *SignerSwitched) Report() SignerReport { return s.signer().report() }

func (s *SignerUntrusted) signer() *signerBase {
	if s == nil {
		return nil
	}
	return &s.b
}

func (s *SignerTrusted) signer() *signerBase {
	if s == nil {
		return nil
	}
	return &s.b
}

func (s *SignerCertificateAdded) signer() *signerBase {
	if s == nil {
		return nil
	}
	return &s.b
}

func (s *SignerSwitched) signer() *signerBase {
	if s == nil {
		return nil
	}
	return &s.b
}

// signerStageOf returns the stage value for a partner's state (nil:
// untrusted).
func (m *Manager) signerStageOf(partner string, ps *partnerState) SignerStage {
	b := signerBase{m: m, partner: partner, ps: ps}
	if ps == nil {
		return &SignerUntrusted{b}
	}
	switch ps.Stage {
	case SignerStageCertificateAdded:
		return &SignerCertificateAdded{b}
	case SignerStageSwitched:
		return &SignerSwitched{b}
	}
	return &SignerTrusted{b}
}

// SignerReport describes a partner's stage at one moment: the trusted
// certificates, where the renewal stands, and the evidence of which
// certificate the partner signs with.
type SignerReport struct {
	// Partner is the partner's ID and Stage the stage's name. Renewal is
	// the number of the partner's renewal in progress, or of its last
	// one if none is; 0 before the first.
	Partner string
	Stage   StageName
	Renewal uint64
	// Time is the clock's time the report was made at.
	Time time.Time

	// Current is the trust ring's current certificate of the partner:
	// during a renewal, the new one. Nil when untrusted.
	Current *CertificateReport
	// DaysLeft is the number of whole days until Current expires;
	// negative once it has.
	DaysLeft int
	// RenewalDue reports that Current expires within the policy's
	// RenewalLead: the partner should renew its signing key.
	RenewalDue bool

	// New and Old are the renewal's certificates; nil when no renewal is
	// in progress. New is Current.
	New, Old *CertificateReport
	// Started is when step 1 added the new certificate.
	Started time.Time
	// Confirmed is when the partner's switch was recorded, By and
	// Reference come with its word, and FromEvidence says that the
	// evidence of a response signed with the new certificate stood for
	// it. Zero until step 2.
	Confirmed         time.Time
	By, Reference     string
	FromEvidence      bool
	FirstNewSignature time.Time
	// OldCertificateUsesAfterConfirmation counts responses the old
	// certificate verified after the partner's confirmation.
	OldCertificateUsesAfterConfirmation uint64
	// OldCertificateExpires is when the retention period of the old
	// certificate ends; zero until the partner's switch is confirmed.
	OldCertificateExpires time.Time
	// RemovableAt is when step 3 becomes allowed as far as is known now:
	// the later of OldCertificateExpires and the old certificate's last
	// verification plus the guaranteed delivery time. Zero until step 2.
	RemovableAt time.Time

	// Retention and GuaranteedDelivery are the rules in effect, as in
	// [Report]: during a renewal the longer of the values recorded at
	// step 1 and the Manager's [Policy].
	Retention, GuaranteedDelivery time.Duration

	// Ended and Outcome describe the partner's last renewal when none is
	// in progress: "completed" or "cancelled".
	Ended   time.Time
	Outcome string
}

// CertificateReport describes one trusted certificate of a partner.
type CertificateReport struct {
	// Certificate and Chain are the certificate and the chain it came
	// with; shared, they must not be modified.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	Fingerprint wssec.Fingerprint
	// Added is when it was trusted, By who announced it and Reference
	// where (such as a ticket).
	Added         time.Time
	By, Reference string
	// LastVerified is when it last verified a response's signature, from
	// the persisted evidence and this process's trust ring; zero if never.
	LastVerified time.Time
}

func (b *signerBase) report() SignerReport {
	if !b.ok() {
		return SignerReport{}
	}
	m, ps := b.m, b.ps
	// Evidence is written without a new stage: while the store holds
	// this stage, report its latest evidence.
	if sd, err := loadSigners(m.store.View().State); err == nil {
		if cur := sd.partner(b.partner); cur != nil && cur.Seq == b.seq() {
			ps = cur
		}
	}
	now := m.opts.now()
	r := SignerReport{Partner: b.partner, Stage: b.stage(), Renewal: b.renewal(), Time: now}
	p := m.opts.Policy
	if ps != nil {
		p = ps.policy(p)
	}
	r.Retention, r.GuaranteedDelivery = p.Retention(), p.guaranteedDelivery()
	if ps == nil {
		return r
	}
	live := m.trustLastUsed(b.partner)
	certReport := func(c *partnerCert) *CertificateReport {
		cr := &CertificateReport{
			Certificate: c.cert, Chain: slices.Clone(c.chain), Fingerprint: c.fingerprint(),
			Added: c.Added, By: c.By, Reference: c.Reference, LastVerified: c.LastVerified,
		}
		if t := live[cr.Fingerprint]; t.After(cr.LastVerified) {
			cr.LastVerified = t
		}
		return cr
	}
	r.Current = certReport(ps.Current)
	r.DaysLeft = daysUntil(now, ps.Current.NotAfter)
	r.RenewalDue = ps.Current.NotAfter.Sub(now) < m.opts.Policy.renewalLead()
	r.Ended, r.Outcome = ps.Ended, ps.Outcome
	if !ps.inRenewal() {
		return r
	}
	r.New, r.Old = r.Current, certReport(ps.Old)
	r.Started = ps.Started
	r.Confirmed, r.By, r.Reference, r.FromEvidence = ps.Confirmed, ps.ConfirmedBy, ps.Reference, ps.FromEvidence
	r.FirstNewSignature = ps.FirstNewSignature
	r.OldCertificateUsesAfterConfirmation = ps.OldUses
	if ps.Stage == SignerStageSwitched {
		r.OldCertificateExpires = ps.oldExpiry(m.opts.Policy)
		r.RemovableAt = removableAt(r.OldCertificateExpires, r.Old.LastVerified, p)
	}
	return r
}
