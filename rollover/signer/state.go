package signer

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// stateName is the key store state blob of the partners' signing
// certificates and their renewals.
const stateName = "rollover-signers"

// stateDoc is the persisted state of every partner's signing
// certificates. The format is documented in doc.go; change both together.
type stateDoc struct {
	Version  int                      `json:"version"`
	Partners map[string]*partnerState `json:"partners,omitempty"`
}

// FormatVersion implements procedure.Versioned.
func (sd *stateDoc) FormatVersion() int { return sd.Version }

// partnerState is one partner's trusted certificates and the stage of its
// renewal. Current is the certificate the ring holds as current: during a
// renewal, the new one. Old is the one a renewal replaces.
type partnerState struct {
	Seq     uint64             `json:"seq"`
	Renewal uint64             `json:"renewal"`
	Stage   rollover.StageName `json:"stage"`

	Current *partnerCert `json:"current"`
	Old     *partnerCert `json:"old,omitempty"`

	// Step 1: the rules recorded and when.
	Retention *procedure.Retention `json:"retention,omitempty"`
	Started   time.Time            `json:"started,omitzero"`

	// Step 2: the partner's word, or the evidence, and the old
	// certificate's expiry.
	Confirmed    time.Time `json:"confirmed,omitzero"`
	ConfirmedBy  string    `json:"confirmedBy,omitempty"`
	Reference    string    `json:"reference,omitempty"`
	FromEvidence bool      `json:"fromEvidence,omitempty"`
	Expires      time.Time `json:"expires,omitzero"`

	// Evidence: the first response the new certificate verified, and the
	// old one's verifications after the switch (counted, not yet in the
	// audit trail, last audited).
	FirstNewSignature time.Time `json:"firstNewSignature,omitzero"`
	OldUses           uint64    `json:"oldUsesAfterConfirmation,omitempty"`
	OldUsesPending    uint64    `json:"oldUsesNotAudited,omitempty"`
	OldUseAudited     time.Time `json:"oldUseAudited,omitzero"`

	// The last renewal's end, when none is in progress.
	Ended   time.Time `json:"ended,omitzero"`
	Outcome string    `json:"outcome,omitempty"`
}

// partnerCert is a trusted certificate with its chain (DER, base64 in
// JSON) and what is known of it.
type partnerCert struct {
	SHA256       string    `json:"sha256"`
	DER          []byte    `json:"der"`
	Chain        [][]byte  `json:"chain,omitempty"`
	Subject      string    `json:"subject"`
	NotAfter     time.Time `json:"notAfter"`
	Added        time.Time `json:"added"`
	By           string    `json:"by,omitempty"`
	Reference    string    `json:"reference,omitempty"`
	LastVerified time.Time `json:"lastVerified,omitzero"`

	cert  *x509.Certificate   // parsed from DER when loaded
	chain []*x509.Certificate // parsed from Chain
}

func newPartnerCert(c Certificate, now time.Time) *partnerCert {
	pc := &partnerCert{
		SHA256:    procedure.Hex(wssec.FingerprintOf(c.Certificate)),
		DER:       bytes.Clone(c.Certificate.Raw),
		Subject:   c.Certificate.Subject.String(),
		NotAfter:  procedure.NormTime(c.Certificate.NotAfter),
		Added:     now,
		By:        c.By,
		Reference: c.Reference,
		cert:      c.Certificate,
		chain:     slices.Clone(c.Chain),
	}
	for _, x := range c.Chain {
		pc.Chain = append(pc.Chain, bytes.Clone(x.Raw))
	}
	return pc
}

func (c *partnerCert) fingerprint() wssec.Fingerprint {
	if c == nil {
		return wssec.Fingerprint{}
	}
	return wssec.FingerprintOf(c.cert)
}

// parse decodes the certificates and checks the fingerprint.
func (c *partnerCert) parse() error {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return fmt.Errorf("cannot parse a certificate: %w", err)
	}
	if procedure.Hex(wssec.FingerprintOf(cert)) != c.SHA256 {
		return fmt.Errorf("certificate does not match its fingerprint %s", c.SHA256)
	}
	c.cert = cert
	c.chain = nil
	for _, der := range c.Chain {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("cannot parse a chain certificate: %w", err)
		}
		c.chain = append(c.chain, x)
	}
	procedure.NormTimes(&c.Added, &c.NotAfter, &c.LastVerified)
	return nil
}

func (c *partnerCert) clone() *partnerCert {
	if c == nil {
		return nil
	}
	x := *c
	x.Chain = slices.Clone(c.Chain)
	x.chain = slices.Clone(c.chain)
	return &x
}

// clone returns a copy that shares no mutable memory with p.
func (p *partnerState) clone() *partnerState {
	if p == nil {
		return nil
	}
	c := *p
	c.Current, c.Old = p.Current.clone(), p.Old.clone()
	c.Retention = p.Retention.Clone()
	return &c
}

// pos returns where the partner's renewal stands, for the freshness
// rule; a nil state is an untrusted partner.
func (p *partnerState) pos() procedure.Pos {
	if p == nil {
		return procedure.Pos{Stage: StageUntrusted}
	}
	return procedure.Pos{Seq: p.Seq, Renewal: p.Renewal, Stage: p.Stage, InRenewal: p.inRenewal(), PastReturn: p.Stage == StageSwitched}
}

// inRenewal reports whether the partner's renewal is between step 1 and
// step 3.
func (p *partnerState) inRenewal() bool {
	return p != nil && (p.Stage == StageCertificateAdded || p.Stage == StageSwitched)
}

// rules returns the retention rules of the partner's renewal under the
// Manager's rules r: during a renewal, each the longer of the recorded
// value and r's.
func (p *partnerState) rules(r procedure.Rules) procedure.Rules {
	if !p.inRenewal() {
		return r
	}
	return procedure.Effective(p.Retention, r)
}

// oldExpiry returns when the old certificate's retention period ends
// under the rules r; zero before the partner's confirmation.
func (p *partnerState) oldExpiry(r procedure.Rules) time.Time {
	return procedure.ExpiryUnder(p.Expires, p.Confirmed, p.rules(r))
}

// endRenewal makes the state trusted, with only the current certificate.
func (p *partnerState) endRenewal(now time.Time, outcome string) {
	*p = partnerState{
		Seq: p.Seq + 1, Renewal: p.Renewal, Stage: StageTrusted,
		Current: p.Current, Ended: now, Outcome: outcome,
	}
}

// latest returns the latest time the state records.
func (p *partnerState) latest() time.Time {
	t := p.Started
	for _, u := range []time.Time{p.Confirmed, p.FirstNewSignature, p.OldUseAudited, p.Ended} {
		t = procedure.Later(t, u)
	}
	for _, c := range []*partnerCert{p.Current, p.Old} {
		if c != nil {
			t = procedure.Later(procedure.Later(t, c.Added), c.LastVerified)
		}
	}
	return t
}

func loadState(read procedure.Reader) (*stateDoc, error) {
	sd := &stateDoc{Version: procedure.Version}
	if err := procedure.LoadBlob(read, stateName, sd); err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(sd.Partners)) {
		if err := sd.Partners[id].check(id); err != nil {
			return nil, &rollover.StateError{Name: stateName, Reason: fmt.Sprintf("partner %q: %v", id, err), Err: rollover.ErrCorruptState}
		}
	}
	return sd, nil
}

// partner returns the state of partner, or nil.
func (sd *stateDoc) partner(id string) *partnerState {
	if sd == nil {
		return nil
	}
	return sd.Partners[id]
}

// check validates what the code relies on and parses the certificates.
func (p *partnerState) check(id string) error {
	if p == nil {
		return fmt.Errorf("no state")
	}
	if checkPartner(id) != nil {
		return fmt.Errorf("invalid partner ID")
	}
	if p.Current == nil {
		return fmt.Errorf("no current certificate")
	}
	for _, c := range []*partnerCert{p.Current, p.Old} {
		if c == nil {
			continue
		}
		if err := c.parse(); err != nil {
			return err
		}
	}
	if err := p.Retention.Check(); err != nil {
		return err
	}
	switch p.Stage {
	case StageTrusted:
		if p.Old != nil {
			return fmt.Errorf("stage %s with an old certificate", p.Stage)
		}
	case StageCertificateAdded, StageSwitched:
		if p.Old == nil || p.Old.SHA256 == p.Current.SHA256 {
			return fmt.Errorf("stage %s without two certificates", p.Stage)
		}
		if p.Stage == StageSwitched && (p.Confirmed.IsZero() || p.Expires.IsZero()) {
			return fmt.Errorf("stage %s without confirmation and expiry", p.Stage)
		}
	default:
		return fmt.Errorf("unknown stage %q", p.Stage)
	}
	procedure.NormTimes(&p.Started, &p.Confirmed, &p.Expires, &p.FirstNewSignature, &p.OldUseAudited, &p.Ended)
	return nil
}

func checkPartner(id string) error { return procedure.CheckID("partner", id) }
