package rollover

import (
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// MinRetention is the least time an old key stays in the key ring after
// the last receiver confirmed that it encrypts with the new key: 90 days.
// [Policy.RetentionFloor] may raise it, never lower it.
const MinRetention = procedure.MinRetention

// Policy holds the retention rules of a renewal. The zero value is the
// safe default: the old key is kept 90 days after the last confirmation,
// and for 90 days after it last decrypted a message.
//
// A Policy is validated when a [Manager] is built; [NewManager] returns
// [ErrInvalidPolicy] for a value out of range and never corrects one.
//
// The GuaranteedDelivery and RetentionFloor in effect when a renewal
// starts are persisted with it. A later step, taken by any process, uses
// the longer of each recorded value and its own Manager's, so a process
// configured with shorter times cannot shorten a renewal's retention
// ([Report.Retention] shows the rules in effect).
type Policy struct {
	// GuaranteedDelivery is how long a receiver may retry or queue a
	// message before it gives up: a message encrypted to the old key just
	// before the receiver switched may arrive this much later. The old
	// key is kept until the last confirmation plus the longer of
	// GuaranteedDelivery and RetentionFloor, and is not removed while it
	// decrypted a message less than GuaranteedDelivery ago. If zero, the
	// retention floor. Negative values are refused.
	GuaranteedDelivery time.Duration

	// RetentionFloor is the least time the old key is kept after the last
	// confirmation. If zero, [MinRetention] (90 days). Values below 90
	// days are refused: the floor protects messages that are still in
	// flight or queued, and the procedure requires it of both parties.
	RetentionFloor time.Duration

	// RenewalLead is how long before the current certificate expires a
	// renewal is reported as due ([Report.RenewalDue],
	// [Report.RenewalDueAt], [HealthWarning]) and warned about in the
	// log. If zero, 60 days, the lead SAP uses for its own keys; half of
	// it is the critical window when GuaranteedDelivery is not set (see
	// [HealthCritical]). Negative values are refused.
	RenewalLead time.Duration

	// MinHolders is the least number of live holders (processes that
	// follow the store, [keystore.Follow]) that must hold the new key
	// before step 3 hands its certificate out. If zero, no minimum: step
	// 3 waits for every live holder, however many. Set it to the number
	// of replicas, so that a replica that failed to register is noticed.
	// Negative values are refused.
	MinHolders int

	// RestoreWindow is how long step 7 ([ReceiversSwitched.RemoveOldKey])
	// keeps the old key disabled — out of the key ring, a message
	// encrypted to it refused and counted as evidence that removal was
	// early — before the store destroys it; until then
	// [Manager.RestoreKey] puts it back. If zero,
	// [keystore.DefaultRestoreWindow] (7 days). A negative value means no
	// window: step 7 destroys the key at once.
	RestoreWindow time.Duration
}

// Validate reports whether p is usable: it returns an error wrapping
// [ErrInvalidPolicy] that names the field, or nil.
func (p Policy) Validate() error {
	switch {
	case p.GuaranteedDelivery < 0:
		return fmt.Errorf("%w: negative GuaranteedDelivery %v", ErrInvalidPolicy, p.GuaranteedDelivery)
	case p.RetentionFloor != 0 && p.RetentionFloor < MinRetention:
		return fmt.Errorf("%w: RetentionFloor %v is below the 90-day floor", ErrInvalidPolicy, p.RetentionFloor)
	case p.MinHolders < 0:
		return fmt.Errorf("%w: negative MinHolders %d", ErrInvalidPolicy, p.MinHolders)
	case p.RenewalLead < 0:
		return fmt.Errorf("%w: negative RenewalLead %v", ErrInvalidPolicy, p.RenewalLead)
	}
	return nil
}

// rules returns p's retention rules, resolved.
func (p Policy) rules() procedure.Rules {
	return procedure.Resolve(p.GuaranteedDelivery, p.RetentionFloor)
}

func (p Policy) retentionFloor() time.Duration { return p.rules().RetentionFloor }

// guaranteedDelivery is the window in which a message encrypted to a key
// may still arrive.
func (p Policy) guaranteedDelivery() time.Duration { return p.rules().GuaranteedDelivery }

// Retention returns how long the old key is kept after the last
// confirmation: the longer of GuaranteedDelivery and the retention floor.
func (p Policy) Retention() time.Duration { return p.rules().Retention() }

// restoreWindow returns the restore window of step 7, and false for
// none.
func (p Policy) restoreWindow() (time.Duration, bool) {
	switch {
	case p.RestoreWindow < 0:
		return 0, false
	case p.RestoreWindow == 0:
		return keystore.DefaultRestoreWindow, true
	}
	return p.RestoreWindow, true
}

func (p Policy) renewalLead() time.Duration {
	return procedure.Or(p.RenewalLead, procedure.DefaultRenewalLead)
}

// Options configures a [Manager]. The zero value is the default. A
// Manager copies its Options when it is built; changing them afterwards
// has no effect.
type Options struct {
	// Policy holds the retention rules; the zero value is the safe
	// default.
	Policy Policy

	// Now is the clock for every time the procedure records and every
	// retention decision. If nil, time.Now. Give the key store
	// (keystore.Options.Now) the same clock: the store checks expiries
	// and stamps key usage with its own.
	Now func() time.Time

	// Logger receives one record per audit entry, and warnings (a
	// renewal that is due, the old key used after a confirmation). If
	// nil, slog.Default(). Nothing logged contains key material or
	// passwords.
	Logger *slog.Logger

	// Rand is the randomness of the self-test's encryption. If nil,
	// crypto/rand.Reader.
	Rand io.Reader

	// Actor names who performs the steps, such as an administrator's
	// login, for the audit trail. If empty, the records have no actor.
	Actor string

	// UsageInterval is the least time between two writes of usage
	// evidence by [Manager.RecordUsage], so that calling it after every
	// decryption costs no more than one store write per interval. If
	// zero, one minute. Negative values are refused with
	// [ErrInvalidPolicy].
	UsageInterval time.Duration
}

func (o *Options) now() time.Time { return procedure.Clock(o.Now)() }

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.Default()
	}
	return o.Logger
}

func (o *Options) rand() io.Reader {
	if o.Rand == nil {
		return rand.Reader
	}
	return o.Rand
}

func (o *Options) usageInterval() time.Duration {
	return procedure.Or(o.UsageInterval, procedure.DefaultUsageInterval)
}

func (o *Options) validate() error {
	if err := o.Policy.Validate(); err != nil {
		return err
	}
	if o.UsageInterval < 0 {
		return fmt.Errorf("%w: negative UsageInterval %v", ErrInvalidPolicy, o.UsageInterval)
	}
	if len(o.Actor) > procedure.MaxTextLen {
		return fmt.Errorf("%w: Actor longer than %d bytes", ErrInvalidPolicy, procedure.MaxTextLen)
	}
	return nil
}
