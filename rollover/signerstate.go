package rollover

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// signersName is the key store state blob of the partners' signing
// certificates and their renewals.
const signersName = "rollover-signers"

// signersDoc is the persisted state of every partner's signing
// certificates. The format is documented in doc.go; change both together.
type signersDoc struct {
	Version  int                      `json:"version"`
	Partners map[string]*partnerState `json:"partners,omitempty"`
}

// partnerState is one partner's trusted certificates and the stage of its
// renewal. Current is the certificate the ring holds as current: during a
// renewal, the new one. Old is the one a renewal replaces.
type partnerState struct {
	Seq     uint64    `json:"seq"`
	Renewal uint64    `json:"renewal"`
	Stage   StageName `json:"stage"`

	Current *partnerCert `json:"current"`
	Old     *partnerCert `json:"old,omitempty"`

	Retention *retentionRecord `json:"retention,omitempty"`
	Started   time.Time        `json:"started,omitzero"`

	Confirmed    time.Time `json:"confirmed,omitzero"`
	ConfirmedBy  string    `json:"confirmedBy,omitempty"`
	Reference    string    `json:"reference,omitempty"`
	FromEvidence bool      `json:"fromEvidence,omitempty"`
	Expires      time.Time `json:"expires,omitzero"`

	FirstNewSignature time.Time `json:"firstNewSignature,omitzero"`
	OldUses           uint64    `json:"oldUsesAfterConfirmation,omitempty"`
	OldUsesPending    uint64    `json:"oldUsesNotAudited,omitempty"`
	OldUseAudited     time.Time `json:"oldUseAudited,omitzero"`

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

func newPartnerCert(c *x509.Certificate, chain []*x509.Certificate, by, ref string, now time.Time) *partnerCert {
	pc := &partnerCert{
		SHA256:    fpHex(wssec.FingerprintOf(c)),
		DER:       bytes.Clone(c.Raw),
		Subject:   c.Subject.String(),
		NotAfter:  normTime(c.NotAfter),
		Added:     now,
		By:        by,
		Reference: ref,
		cert:      c,
		chain:     slices.Clone(chain),
	}
	for _, x := range chain {
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
	if fpHex(wssec.FingerprintOf(cert)) != c.SHA256 {
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
	c.Added, c.NotAfter, c.LastVerified = normTime(c.Added), normTime(c.NotAfter), normTime(c.LastVerified)
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
	if p.Retention != nil {
		r := *p.Retention
		c.Retention = &r
	}
	return &c
}

// inRenewal reports whether the partner's renewal is between step 1 and
// step 3.
func (p *partnerState) inRenewal() bool { return p.Stage.inRenewal() }

// policy returns the retention rules of the partner's renewal under the
// Manager's Policy p; see effectivePolicy.
func (p *partnerState) policy(pol Policy) Policy {
	if !p.inRenewal() {
		return effectivePolicy(nil, pol)
	}
	return effectivePolicy(p.Retention, pol)
}

// oldExpiry returns when the old certificate's retention period ends
// under the rules of pol; zero before the partner's confirmation.
func (p *partnerState) oldExpiry(pol Policy) time.Time {
	return expiryUnder(p.Expires, p.Confirmed, p.policy(pol))
}

// endRenewal makes the state trusted, with only the current certificate.
func (p *partnerState) endRenewal(now time.Time, outcome string) {
	*p = partnerState{
		Seq: p.Seq + 1, Renewal: p.Renewal, Stage: SignerStageTrusted,
		Current: p.Current, Ended: now, Outcome: outcome,
	}
}

func loadSigners(read blobReader) (*signersDoc, error) {
	sd := &signersDoc{Version: formatVersion}
	if err := loadBlob(read, signersName, sd); err != nil {
		return nil, err
	}
	for _, id := range slices.Sorted(maps.Keys(sd.Partners)) {
		if err := sd.Partners[id].check(id); err != nil {
			return nil, &StateError{Name: signersName, Reason: fmt.Sprintf("partner %q: %v", id, err), Err: ErrCorruptState}
		}
	}
	return sd, nil
}

func (sd *signersDoc) version() int { return sd.Version }

// partner returns the state of partner, or nil.
func (sd *signersDoc) partner(id string) *partnerState {
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
	if err := p.Retention.check(); err != nil {
		return err
	}
	switch p.Stage {
	case SignerStageTrusted:
		if p.Old != nil {
			return fmt.Errorf("stage %s with an old certificate", p.Stage)
		}
	case SignerStageCertificateAdded, SignerStageSwitched:
		if p.Old == nil || p.Old.SHA256 == p.Current.SHA256 {
			return fmt.Errorf("stage %s without two certificates", p.Stage)
		}
		if p.Stage == SignerStageSwitched && (p.Confirmed.IsZero() || p.Expires.IsZero()) {
			return fmt.Errorf("stage %s without confirmation and expiry", p.Stage)
		}
	default:
		return fmt.Errorf("unknown stage %q", p.Stage)
	}
	for _, t := range []*time.Time{&p.Started, &p.Confirmed, &p.Expires, &p.FirstNewSignature, &p.OldUseAudited, &p.Ended} {
		*t = normTime(*t)
	}
	return nil
}

// signers returns the signers' state of the transaction, read once.
func (d *docs) signers(read blobReader) (*signersDoc, error) {
	if d.signersDoc != nil {
		return d.signersDoc, nil
	}
	sd, err := loadSigners(read)
	if err != nil {
		return nil, err
	}
	d.signersDoc = sd
	return sd, nil
}

// recordSigner appends an audit record of a partner's renewal as given.
func (d *docs) recordSigner(r Record) {
	d.added = append(d.added, r)
}

// raiseSignerRetention records the Manager's Policy with every partner
// renewal in progress where it is longer than the recorded one, and moves
// the old certificate's expiry accordingly.
func (m *Manager) raiseSignerRetention(d *docs, now time.Time) {
	sd := d.signersDoc
	for _, id := range slices.Sorted(maps.Keys(sd.Partners)) {
		ps := sd.Partners[id]
		if !ps.inRenewal() {
			continue
		}
		var switched time.Time
		if ps.Stage == SignerStageSwitched {
			switched = ps.Confirmed
		}
		want, exp, note, ok := raisedRetention(ps.Retention, m.opts.Policy, ps.Expires, switched)
		if !ok {
			continue
		}
		ps.Retention = want
		if !exp.IsZero() {
			ps.Expires = exp
			note += "; the old certificate may be removed from " + exp.Format(time.RFC3339)
		}
		d.signersChanged = true
		d.recordSigner(Record{Time: now, Renewal: ps.Renewal, Action: ActionRaiseRetention, Actor: m.opts.Actor, Partner: id,
			NewKey: ps.Current.fingerprint(), OldKey: ps.Old.fingerprint(), Note: note})
	}
}

// joinNote appends the caller's note to what the step did.
func joinNote(what, note string) string {
	if note == "" {
		return what
	}
	return what + "; " + note
}
