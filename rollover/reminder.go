package rollover

import (
	"fmt"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// Health classifies a [Report] for monitoring: what a cron job or a
// monitoring system should do about the key store. The values follow the
// exit codes monitoring plugins use (0 ok, 1 warning, 2 critical).
type Health int

const (
	// HealthOK means that nothing needs doing now.
	HealthOK Health = iota
	// HealthWarning means that a renewal is due, or that a step of the
	// renewal in progress is allowed and waits for the operator, or that
	// the old key decrypted responses after a receiver confirmed.
	HealthWarning
	// HealthCritical means that the store has no key that can decrypt,
	// or that a certificate the receivers may encrypt to has expired or
	// expires within the critical window: the Manager's
	// [Policy.GuaranteedDelivery] where it is set, else half the
	// renewal lead (30 days by default). The
	// retention floor that an unset GuaranteedDelivery falls back to for
	// retention (90 days) would make every renewal critical before it is
	// due, so it is not used here. A GuaranteedDelivery at least as long
	// as the renewal lead makes a renewal critical as soon as it is due.
	HealthCritical
)

// String returns "ok", "warning" or "critical".
func (h Health) String() string {
	switch h {
	case HealthOK:
		return "ok"
	case HealthWarning:
		return "warning"
	case HealthCritical:
		return "critical"
	}
	return fmt.Sprintf("Health(%d)", int(h))
}

// Step numbers of the procedure, as [NextStep.Step] reports them.
// Steps 4 and 5 are the receivers' and have no number of their own here:
// the tenant waits for step 6.
const (
	StepCreate  = 1 // create the new key pair ([Idle.CreateKeyPair])
	StepAdd     = 2 // make it current ([KeyPairCreated.AddToKeyStore])
	StepProvide = 3 // hand the certificate out ([KeyAdded.ProvideCertificate])
	StepConfirm = 6 // record each receiver's confirmation ([CertificateProvided.ConfirmReceiverSwitched])
	StepRemove  = 7 // remove the old key ([ReceiversSwitched.RemoveOldKey])
)

const reminderDays = 24 * time.Hour

// NextStep says what the procedure does next and from when it may.
type NextStep struct {
	// Step is the step number: [StepCreate], [StepAdd], [StepProvide],
	// [StepConfirm] or [StepRemove].
	Step int
	// Name is a short name for the step: "create", "add", "provide",
	// "confirm" or "remove".
	Name string
	// AllowedAt is when the step becomes allowed, as far as is known
	// now: the report's Time or earlier if it is allowed now. It is zero
	// when the step waits for others rather than for a date (see
	// WaitingFor). Step 3 also waits for every live holder to hold the
	// new key, which the step checks when it runs.
	AllowedAt time.Time
	// WaitingFor names who must act before the step is possible, such as
	// the receivers that have not confirmed; empty if the operator may
	// act.
	WaitingFor []string
	// AllowedNow reports that the step is allowed at the report's Time:
	// nobody is waited for and AllowedAt is not after it.
	AllowedNow bool
}

// remind fills the reminder fields of r: RenewalDueAt, Next, Health and
// HealthReason. pending lists the receivers that have not confirmed;
// delivery is the GuaranteedDelivery as set, zero if it is not; started
// is when step 1 was taken.
func (r *Report) remind(lead, delivery time.Duration, pending []string, started time.Time) {
	if !r.Current.NotAfter.IsZero() {
		r.RenewalDueAt = r.Current.NotAfter.Add(-lead)
	}
	switch r.Stage {
	case StageKeyPairCreated:
		r.Next = NextStep{Step: StepAdd, Name: "add", AllowedAt: started}
		if started.IsZero() || started.After(r.Time) {
			r.Next.AllowedAt = r.Time
		}
	case StageKeyAdded:
		r.Next = NextStep{Step: StepProvide, Name: "provide", AllowedAt: r.Time}
	case StageCertificateProvided:
		r.Next = NextStep{Step: StepConfirm, Name: "confirm", WaitingFor: pending}
		if len(pending) == 0 {
			r.Next.AllowedAt = r.Time
		}
	case StageReceiversSwitched:
		r.Next = NextStep{Step: StepRemove, Name: "remove", AllowedAt: r.RemovableAt}
	default:
		r.Next = NextStep{Step: StepCreate, Name: "create", AllowedAt: r.Time}
	}
	r.Next.AllowedNow = len(r.Next.WaitingFor) == 0 && !r.Next.AllowedAt.IsZero() && !r.Next.AllowedAt.After(r.Time)
	critical := delivery
	if critical == 0 {
		critical = lead / 2
	}
	r.Health, r.HealthReason = r.health(critical)
}

// health decides the Health of r and says why in one line.
func (r *Report) health(critical time.Duration) (Health, string) {
	if r.Current.Alias == "" {
		return HealthCritical, "no key can decrypt: the store has no current key"
	}
	// The certificates receivers may encrypt to: the current one, and
	// the old one until every receiver confirmed the switch.
	certs := []KeyReport{r.Current}
	if r.Old != nil && (r.Stage == StageKeyAdded || r.Stage == StageCertificateProvided) {
		certs = append(certs, *r.Old)
	}
	for _, k := range certs {
		if left := k.NotAfter.Sub(r.Time); left < critical {
			if left < 0 {
				return HealthCritical, fmt.Sprintf("certificate of %s expired at %s", k.Alias, stamp(k.NotAfter))
			}
			return HealthCritical, fmt.Sprintf("certificate of %s expires at %s, within %s", k.Alias, stamp(k.NotAfter), days(critical))
		}
	}
	var warn []string
	if r.RenewalDue && (r.Stage == StageIdle || r.Stage == StageKeyPairCreated) {
		warn = append(warn, fmt.Sprintf("renewal due since %s: certificate of %s expires at %s (%d days left)", stamp(r.RenewalDueAt), r.Current.Alias, stamp(r.Current.NotAfter), r.DaysLeft))
	}
	if r.Stage != StageIdle && r.Next.AllowedNow {
		w := fmt.Sprintf("step %d (%s) of renewal %d is allowed and waits for the operator", r.Next.Step, r.Next.Name, r.Renewal)
		if r.Next.AllowedAt.Before(r.Time) {
			w += " since " + stamp(r.Next.AllowedAt)
		}
		warn = append(warn, w)
	}
	if r.OldKeyUsesAfterConfirmation > 0 {
		warn = append(warn, fmt.Sprintf("the old key decrypted %d responses after a confirmation", r.OldKeyUsesAfterConfirmation))
	}
	if len(warn) > 0 {
		return HealthWarning, strings.Join(warn, "; ")
	}
	switch {
	case r.Stage == StageIdle:
		return HealthOK, fmt.Sprintf("certificate of %s valid until %s; renewal due from %s", r.Current.Alias, stamp(r.Current.NotAfter), stamp(r.RenewalDueAt))
	case len(r.Next.WaitingFor) > 0:
		return HealthOK, fmt.Sprintf("renewal %d waits for confirmations from %s", r.Renewal, strings.Join(procedure.QuoteAll(r.Next.WaitingFor), ", "))
	}
	return HealthOK, fmt.Sprintf("renewal %d: step %d (%s) allowed from %s", r.Renewal, r.Next.Step, r.Next.Name, stamp(r.Next.AllowedAt))
}

// stamp formats t for a reminder: UTC, to the minute.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// days formats d in whole days, or hours below one day.
func days(d time.Duration) string {
	if d < reminderDays {
		return d.String()
	}
	return fmt.Sprintf("%d days", int(d/reminderDays))
}
