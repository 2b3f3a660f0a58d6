package rollover

import (
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// StageName names a stage of the decryption-key renewal, or of a
// partner's signing-certificate renewal (package rollover/signer), as
// the store keeps it.
type StageName = procedure.StageName

// Stages of the procedure. Each names the state reached; the steps that
// lead on from it are methods of its type.
const (
	// StageIdle: no renewal in progress ([Idle]).
	StageIdle StageName = "idle"
	// StageKeyPairCreated: step 1 done, the new key is pending in the
	// store ([KeyPairCreated]).
	StageKeyPairCreated StageName = "key-pair-created"
	// StageKeyAdded: step 2 done, the new key is current and the old one
	// retained ([KeyAdded]).
	StageKeyAdded StageName = "key-added"
	// StageCertificateProvided: step 3 done, waiting for receivers to
	// confirm ([CertificateProvided]).
	StageCertificateProvided StageName = "certificate-provided"
	// StageReceiversSwitched: every receiver confirmed, the old key has
	// its expiry ([ReceiversSwitched]).
	StageReceiversSwitched StageName = "receivers-switched"
)

func validStage(s StageName) bool {
	switch s {
	case StageIdle, StageKeyPairCreated, StageKeyAdded, StageCertificateProvided, StageReceiversSwitched:
		return true
	}
	return false
}

// posOf returns where the renewal st stands, for the freshness rule.
func posOf(st *stateDoc) procedure.Pos {
	return procedure.Pos{
		Seq: st.Seq, Renewal: st.Renewal, Stage: st.Stage,
		InRenewal:  st.Stage != StageIdle,
		PastReturn: st.Stage == StageCertificateProvided || st.Stage == StageReceiversSwitched,
	}
}

// Stage is a stage of the procedure: [*Idle], [*KeyPairCreated],
// [*KeyAdded], [*CertificateProvided] or [*ReceiversSwitched]. Switch on
// the type to reach the next step; [Report.Stage] and [Report.Renewal]
// name it.
//
// A stage value is a snapshot of the persisted state: immutable and safe
// for concurrent use. A step taken from it persists the change and
// returns the next stage; the value it was taken from is stale from then
// on, and a step taken from a stale value is refused with
// [ErrStaleStage] without changing anything.
type Stage interface {
	// Report describes the stage, the keys and the evidence collected,
	// at the Manager's clock's time.
	Report() Report

	state() *stateDoc
}

// base is what every stage holds: its Manager and the persisted state it
// was built from, which is never modified.
type base struct {
	m  *Manager
	st *stateDoc
}

func (b base) renewal() uint64 {
	if b.st == nil {
		return 0
	}
	return b.st.Renewal
}

// ok reports whether the value came from a Manager.
func (b base) ok() bool { return b.m != nil && b.st != nil }

// stateOf returns the persisted state behind s.
func stateOf(s Stage) *stateDoc {
	if st := s.state(); st != nil {
		return st
	}
	return &stateDoc{Stage: StageIdle}
}

// Idle is the stage with no renewal in progress: the store's current key
// is the one receivers encrypt to. A renewal starts here with step 1,
// [Idle.CreateKeyPair], which also imports a key pair made elsewhere.
type Idle struct{ base }

// KeyPairCreated is the stage after step 1: the new key is stored, pending,
// outside the key ring. Its certificate may still be replaced by a
// CA-signed one ([KeyPairCreated.AdoptCertificate]). Next:
// [KeyPairCreated.AddToKeyStore], or [KeyPairCreated.Cancel].
type KeyPairCreated struct{ base }

// KeyAdded is the stage after step 2: the new key is the current key of
// the ring and the old key is retained without expiry, so both decrypt.
// No receiver knows the new certificate yet. Next:
// [KeyAdded.ProvideCertificate], or [KeyAdded.Cancel].
type KeyAdded struct{ base }

// CertificateProvided is the stage after step 3: receivers were given the
// new certificate and may encrypt to either key. It lasts until every
// receiver has confirmed the switch
// ([CertificateProvided.ConfirmReceiverSwitched]); the old key has no
// expiry meanwhile. The renewal can no longer be cancelled.
type CertificateProvided struct{ base }

// ReceiversSwitched is the stage after the last receiver confirmed (steps
// 4 to 6): the old key is retained until its expiry, the last
// confirmation plus the retention period. Next:
// [ReceiversSwitched.RemoveOldKey] (step 7), or
// [ReceiversSwitched.WithdrawConfirmation] if a receiver went back to the
// old key.
type ReceiversSwitched struct{ base }

// Report describes the stage; see [Report].
func (s *Idle) Report() Report {
	if s == nil {
		return Report{}
	}
	return s.report()
}

func (s *Idle) state() *stateDoc {
	if s == nil {
		return nil
	}
	return s.st
}

// Report describes the stage; see [Report].
func (s *KeyPairCreated) Report() Report {
	if s == nil {
		return Report{}
	}
	return s.report()
}

func (s *KeyPairCreated) state() *stateDoc {
	if s == nil {
		return nil
	}
	return s.st
}

// Report describes the stage; see [Report].
func (s *KeyAdded) Report() Report {
	if s == nil {
		return Report{}
	}
	return s.report()
}

func (s *KeyAdded) state() *stateDoc {
	if s == nil {
		return nil
	}
	return s.st
}

// Report describes the stage; see [Report].
func (s *CertificateProvided) Report() Report {
	if s == nil {
		return Report{}
	}
	return s.report()
}

func (s *CertificateProvided) state() *stateDoc {
	if s == nil {
		return nil
	}
	return s.st
}

// Report describes the stage; see [Report].
func (s *ReceiversSwitched) Report() Report {
	if s == nil {
		return Report{}
	}
	return s.report()
}

func (s *ReceiversSwitched) state() *stateDoc {
	if s == nil {
		return nil
	}
	return s.st
}

// Report describes a stage at one moment: where the procedure stands, the
// keys involved, and the evidence of what receivers encrypt to.
type Report struct {
	// Stage is the stage's name. Renewal is the number of the renewal in
	// progress, or of the last one if none is; 0 before the first.
	Stage   StageName
	Renewal uint64
	// Time is the clock's time the report was made at.
	Time time.Time

	// Current is the store's current key; zero if it has none.
	Current KeyReport
	// DaysLeft is the number of whole days until the current certificate
	// expires; negative once it has.
	DaysLeft int
	// RenewalDue reports that the current certificate expires within the
	// policy's RenewalLead.
	RenewalDue bool
	// RenewalDueAt is when a renewal becomes due: the current
	// certificate's NotAfter minus [Policy.RenewalLead] (default 60
	// days). Zero if the store has no current key.
	RenewalDueAt time.Time
	// Next is the next step of the procedure and from when it is
	// allowed; when idle, step 1.
	Next NextStep
	// Health and HealthReason classify the report for monitoring, with
	// a one-line reason; see [Health].
	Health       Health
	HealthReason string

	// New and Old are the renewal's keys; nil when idle.
	New, Old *KeyReport
	// SelfTest and Provided are when step 3's self-test passed and when
	// the certificate was handed out.
	SelfTest, Provided time.Time
	// Receivers are those the certificate was provided to, in the order
	// given.
	Receivers []ReceiverReport
	// Pending lists the IDs of the receivers that have not confirmed the
	// switch, in the order given; the old key has no expiry while any
	// remain.
	Pending []string
	// FirstNewKeyUse is when the first response decrypted with the new
	// key after step 3 was recorded: evidence that a receiver switched.
	FirstNewKeyUse time.Time
	// OldKeyUsesAfterConfirmation counts responses decrypted with the old
	// key after a confirmation: attributed to a receiver after that
	// receiver's confirmation, or unattributed after every receiver's.
	OldKeyUsesAfterConfirmation uint64
	// OldKeyExpires is when the retention period of the old key ends;
	// zero until every receiver has confirmed.
	OldKeyExpires time.Time
	// RemovableAt is when step 7 becomes allowed as far as is known now:
	// the later of OldKeyExpires and the old key's last use plus the
	// guaranteed delivery time. Zero until every receiver has confirmed.
	RemovableAt time.Time

	// Retention is how long the old key is kept after the last
	// confirmation, and GuaranteedDelivery how long after it last
	// decrypted a response. For a renewal in progress each rule is the
	// longer of the value recorded when it started (step 1) and the
	// Manager's [Policy]; when idle, the Manager's. Both are resolved:
	// never zero.
	Retention, GuaranteedDelivery time.Duration

	// Ended and Outcome describe the last renewal when idle: "completed"
	// or "cancelled".
	Ended   time.Time
	Outcome string
}

// KeyReport describes one key of the store.
type KeyReport struct {
	Alias       string
	Fingerprint wssec.Fingerprint
	// Status is the key's status in the store; zero if the store no
	// longer holds it.
	Status keystore.Status
	// NotAfter is the end of the certificate's validity.
	NotAfter time.Time
	// LastUsed is when the key last decrypted a response, from the
	// persisted evidence and this process's key ring; zero if never.
	LastUsed time.Time
}

// ReceiverReport describes one receiver of the new certificate.
type ReceiverReport struct {
	Receiver Receiver
	// Provided is when the certificate was provided to it.
	Provided time.Time
	// Confirmed is when its confirmation was recorded; zero if it has not
	// confirmed. By and Reference come with the confirmation.
	Confirmed time.Time
	By        string
	Reference string
	// FirstNewKeyUse is when a response attributed to the receiver was
	// first decrypted with the new key ([Manager.Observe]).
	FirstNewKeyUse time.Time
	// OldKeyUsesAfterConfirmation counts responses attributed to the
	// receiver that the old key decrypted after its confirmation.
	OldKeyUsesAfterConfirmation uint64
}

func (b base) report() Report {
	if !b.ok() {
		return Report{}
	}
	m, st := b.m, b.st
	// Evidence is written without a new stage: while the store holds
	// this stage, report its latest evidence.
	if cur, err := loadState(m.store.ReadState); err == nil && cur.Seq == st.Seq {
		st = cur
	}
	now := m.opts.now()
	p := m.opts.Policy
	if st.Stage != StageIdle {
		p = st.policy(p)
	}
	r := Report{
		Stage: st.Stage, Renewal: st.Renewal, Time: now,
		SelfTest: st.SelfTest, Provided: st.Provided,
		FirstNewKeyUse:              st.FirstNewKeyUse,
		OldKeyUsesAfterConfirmation: st.OldUses,
		OldKeyExpires:               st.oldKeyExpiry(m.opts.Policy),
		Ended:                       st.Ended,
		Outcome:                     st.Outcome,
		Retention:                   p.Retention(),
		GuaranteedDelivery:          p.guaranteedDelivery(),
	}
	usage := m.lastUsedView()
	entries := m.store.Entries()
	keyReport := func(alias string, fp wssec.Fingerprint) *KeyReport {
		k := &KeyReport{Alias: alias, Fingerprint: fp, LastUsed: usage[fp]}
		for _, e := range entries {
			if e.Fingerprint == fp {
				k.Status, k.NotAfter = e.Status, e.Certificate.NotAfter
			}
		}
		return k
	}
	for _, e := range entries {
		if e.Status == keystore.StatusCurrent {
			r.Current = *keyReport(e.Alias, e.Fingerprint)
			r.DaysLeft = procedure.DaysUntil(now, r.Current.NotAfter)
			r.RenewalDue = r.Current.NotAfter.Sub(now) < m.opts.Policy.renewalLead()
		}
	}
	if st.Stage != StageIdle {
		r.New = keyReport(st.New.Alias, st.New.fingerprint())
		r.Old = keyReport(st.Old.Alias, st.Old.fingerprint())
	}
	for _, rs := range st.Receivers {
		r.Receivers = append(r.Receivers, ReceiverReport{
			Receiver:  Receiver{ID: rs.ID, Description: rs.Description},
			Provided:  rs.Provided,
			Confirmed: rs.Confirmed, By: rs.By, Reference: rs.Reference,
			FirstNewKeyUse:              rs.FirstNewKeyUse,
			OldKeyUsesAfterConfirmation: rs.OldUses,
		})
	}
	r.Pending = st.pending()
	if st.Stage == StageReceiversSwitched {
		r.RemovableAt = procedure.RemovableAt(r.OldKeyExpires, r.Old.LastUsed, p.rules())
	}
	r.remind(m.opts.Policy.renewalLead(), m.opts.Policy.GuaranteedDelivery, st.pending(), st.Started)
	return r
}
