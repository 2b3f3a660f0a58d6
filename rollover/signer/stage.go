package signer

import (
	"crypto/x509"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// Stages of a partner's signing-certificate renewal, as the store keeps
// them. Each names the state reached; the steps that lead on from it are
// methods of its type.
const (
	// StageUntrusted: no certificate of the partner is trusted
	// ([Untrusted]). The store does not hold this stage; it is that of
	// every partner it does not know.
	StageUntrusted rollover.StageName = "untrusted"
	// StageTrusted: one certificate of the partner is trusted and no
	// renewal is in progress ([Trusted]).
	StageTrusted rollover.StageName = "trusted"
	// StageCertificateAdded: step 1 done, the partner's new certificate
	// is trusted beside the old one, which has no expiry
	// ([CertificateAdded]).
	StageCertificateAdded rollover.StageName = "certificate-added"
	// StageSwitched: step 2 done, the partner signs with the new
	// certificate and the old one is trusted until its expiry
	// ([Switched]).
	StageSwitched rollover.StageName = "partner-switched"
)

// Stage is the stage of one partner's signing-certificate renewal:
// [*Untrusted], [*Trusted], [*CertificateAdded] or [*Switched]. Switch
// on the type to reach the next step; [Report.Stage] names it.
//
// A stage value is a snapshot of the persisted state: immutable and safe
// for concurrent use. A step taken from it persists the change and
// returns the next stage; the value it was taken from is stale from then
// on, and a step taken from a stale value is refused with
// [rollover.ErrStaleStage] without changing anything. Steps for other
// partners do not make it stale.
type Stage interface {
	// Report describes the stage, the certificates and the evidence
	// collected, at the Manager's clock's time.
	Report() Report

	sealed()
}

// base is the skeleton of every stage type: its Manager, the partner,
// and the persisted state it was built from (nil when untrusted), which
// is never modified. Its Report method is each stage's.
type base struct {
	m       *Manager
	partner string
	ps      *partnerState
}

func (*base) sealed() {}

// baseOf returns the skeleton of s; nil for a nil stage value.
func baseOf(s Stage) *base {
	switch v := s.(type) {
	case *Untrusted:
		if v != nil {
			return &v.base
		}
	case *Trusted:
		if v != nil {
			return &v.base
		}
	case *CertificateAdded:
		if v != nil {
			return &v.base
		}
	case *Switched:
		if v != nil {
			return &v.base
		}
	}
	return nil
}

// ok reports whether the value came from a Manager.
func (b *base) ok() bool { return b != nil && b.m != nil && b.partner != "" }

// next returns the stage after a step that committed ps.
func (b *base) next(ps *partnerState) base { return base{b.m, b.partner, ps} }

// Untrusted is the stage of a partner none of whose certificates is
// trusted. Its only step is [Untrusted.Trust], which trusts the
// partner's current signing certificate.
type Untrusted struct{ base }

// Trusted is the stage with one trusted certificate of the partner and
// no renewal in progress. When the partner announces a new signing
// certificate, [Trusted.AddCertificate] is step 1.
type Trusted struct{ base }

// CertificateAdded is the stage after step 1: the partner's new
// certificate is the trust ring's current one, and the old certificate is
// retained with no expiry, so responses signed with either verify. It
// lasts until the partner confirms that it signs with the new key
// ([CertificateAdded.ConfirmPartnerSwitched], [Confirmation.FromEvidence]);
// before that the new certificate can be removed again
// ([CertificateAdded.Cancel]).
type CertificateAdded struct{ base }

// Switched is the stage after step 2: the partner signs with the new
// certificate, and the old one is trusted until its expiry, the
// confirmation plus the retention period. Next:
// [Switched.RemoveOldCertificate] (step 3), or
// [Switched.WithdrawConfirmation] if the partner went back to the old
// key.
type Switched struct{ base }

// stageOf returns the stage value for a partner's state (nil:
// untrusted).
func (m *Manager) stageOf(partner string, ps *partnerState) Stage {
	b := base{m: m, partner: partner, ps: ps}
	if ps == nil {
		return &Untrusted{b}
	}
	switch ps.Stage {
	case StageCertificateAdded:
		return &CertificateAdded{b}
	case StageSwitched:
		return &Switched{b}
	}
	return &Trusted{b}
}

// Report describes a partner's stage at one moment: the trusted
// certificates, where the renewal stands, and the evidence of which
// certificate the partner signs with.
type Report struct {
	// Partner is the partner's ID and Stage the stage's name. Renewal is
	// the number of the partner's renewal in progress, or of its last
	// one if none is; 0 before the first.
	Partner string
	Stage   rollover.StageName
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
	// [rollover.Report]: during a renewal the longer of the values
	// recorded at step 1 and the Manager's [rollover.Policy].
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

// Report describes the stage; see [Report].
func (s *Untrusted) Report() Report { return baseOf(s).report() }

// Report describes the stage; see [Report].
func (s *Trusted) Report() Report { return baseOf(s).report() }

// Report describes the stage; see [Report].
func (s *CertificateAdded) Report() Report { return baseOf(s).report() }

// Report describes the stage; see [Report].
func (s *Switched) Report() Report { return baseOf(s).report() }

func (b *base) report() Report {
	if !b.ok() {
		return Report{}
	}
	m, ps := b.m, b.ps
	// Evidence is written without a new stage: while the store holds
	// this stage, report its latest evidence.
	if sd, err := loadState(m.store.ReadState); err == nil {
		if cur := sd.partner(b.partner); cur != nil && cur.pos().Seq == ps.pos().Seq {
			ps = cur
		}
	}
	now := m.now()
	pos := ps.pos()
	r := Report{Partner: b.partner, Stage: pos.Stage, Renewal: pos.Renewal, Time: now}
	rules := ps.rules(m.rules)
	r.Retention, r.GuaranteedDelivery = rules.Retention(), rules.GuaranteedDelivery
	if ps == nil {
		return r
	}
	live := m.trustLastUsed(b.partner)
	certReport := func(c *partnerCert) *CertificateReport {
		cr := &CertificateReport{
			Certificate: c.cert, Chain: slices.Clone(c.chain), Fingerprint: c.fingerprint(),
			Added: c.Added, By: c.By, Reference: c.Reference, LastVerified: c.LastVerified,
		}
		cr.LastVerified = procedure.Later(cr.LastVerified, live[cr.Fingerprint])
		return cr
	}
	r.Current = certReport(ps.Current)
	r.DaysLeft = procedure.DaysUntil(now, ps.Current.NotAfter)
	r.RenewalDue = ps.Current.NotAfter.Sub(now) < procedure.Or(m.opts.Policy.RenewalLead, procedure.DefaultRenewalLead)
	r.Ended, r.Outcome = ps.Ended, ps.Outcome
	if !ps.inRenewal() {
		return r
	}
	r.New, r.Old = r.Current, certReport(ps.Old)
	r.Started = ps.Started
	r.Confirmed, r.By, r.Reference, r.FromEvidence = ps.Confirmed, ps.ConfirmedBy, ps.Reference, ps.FromEvidence
	r.FirstNewSignature = ps.FirstNewSignature
	r.OldCertificateUsesAfterConfirmation = ps.OldUses
	if ps.Stage == StageSwitched {
		r.OldCertificateExpires = ps.oldExpiry(m.rules)
		r.RemovableAt = procedure.RemovableAt(r.OldCertificateExpires, r.Old.LastVerified, rules)
	}
	return r
}
