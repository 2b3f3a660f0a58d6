package procedure

import (
	"encoding/json"
	"fmt"
	"time"
)

// MinRetention is the least time an old key or certificate stays after
// the last confirmation: 90 days. A policy may raise it, never lower it.
const MinRetention = 90 * 24 * time.Hour

// DefaultRenewalLead is how long before its certificate expires a key
// or a partner's certificate is reported as due for renewal, if a policy
// does not say.
const DefaultRenewalLead = 60 * 24 * time.Hour

// DefaultUsageInterval is the least time between two writes of usage
// evidence, if the options do not say.
const DefaultUsageInterval = time.Minute

// Or returns d, or def if d is zero: a zero option means the default.
func Or(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Rules are the retention rules a decision about a renewal uses,
// resolved: no zero means a default here.
type Rules struct {
	// GuaranteedDelivery is how long a message sent with the old key may
	// still arrive; RetentionFloor the least time the old key is kept
	// after the last confirmation.
	GuaranteedDelivery, RetentionFloor time.Duration
}

// Resolve returns the rules of a policy's fields: a zero floor is
// [MinRetention], a zero guaranteed delivery time the floor.
func Resolve(guaranteedDelivery, retentionFloor time.Duration) Rules {
	if retentionFloor == 0 {
		retentionFloor = MinRetention
	}
	if guaranteedDelivery == 0 {
		guaranteedDelivery = retentionFloor
	}
	return Rules{GuaranteedDelivery: guaranteedDelivery, RetentionFloor: retentionFloor}
}

// Retention is how long the old key is kept after the last
// confirmation: max(guaranteed delivery, floor).
func (r Rules) Retention() time.Duration {
	return max(r.GuaranteedDelivery, r.RetentionFloor)
}

// Describe describes r for the audit trail.
func (r Rules) Describe() string {
	return fmt.Sprintf("retention %s after the last confirmation (guaranteed delivery %s, retention floor %s)",
		FmtDuration(r.Retention()), FmtDuration(r.GuaranteedDelivery), FmtDuration(r.RetentionFloor))
}

// Retention is the retention policy persisted with a renewal: the rules
// in effect when it started, so that a process with shorter or zero
// rules cannot shorten the retention of a renewal another process
// started. A process with longer rules raises them ([Raise]); they are
// never lowered.
type Retention struct {
	GuaranteedDelivery duration `json:"guaranteedDelivery"`
	RetentionFloor     duration `json:"retentionFloor"`
}

// duration is a time.Duration kept in JSON as Go writes durations
// ("2880h0m0s"), which a person reading the state can check.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = duration(v)
	return nil
}

// Record returns r as persisted.
func (r Rules) Record() *Retention {
	return &Retention{GuaranteedDelivery: duration(r.GuaranteedDelivery), RetentionFloor: duration(r.RetentionFloor)}
}

// Check refuses negative durations.
func (rec *Retention) Check() error {
	if rec != nil && (rec.GuaranteedDelivery < 0 || rec.RetentionFloor < 0) {
		return fmt.Errorf("negative retention")
	}
	return nil
}

// Clone returns a copy of rec.
func (rec *Retention) Clone() *Retention {
	if rec == nil {
		return nil
	}
	c := *rec
	return &c
}

// Effective returns the rules a decision about a renewal uses: each the
// longer of the value recorded with the renewal (rec, nil for state
// written before it was recorded) and r's.
func Effective(rec *Retention, r Rules) Rules {
	if rec != nil {
		r.GuaranteedDelivery = max(r.GuaranteedDelivery, time.Duration(rec.GuaranteedDelivery))
		r.RetentionFloor = max(r.RetentionFloor, time.Duration(rec.RetentionFloor))
	}
	return r
}

// ExpiryUnder returns the later of expires and switched plus r's
// retention; zero while expires is.
func ExpiryUnder(expires, switched time.Time, r Rules) time.Time {
	if expires.IsZero() {
		return time.Time{}
	}
	if switched.IsZero() {
		return expires
	}
	return Later(expires, switched.Add(r.Retention()))
}

// RemovableAt is when the old key or certificate may be removed: after
// its expiry, and no sooner than the guaranteed delivery time after its
// last use.
func RemovableAt(expires, lastUsed time.Time, r Rules) time.Time {
	if lastUsed.IsZero() {
		return expires
	}
	return Later(expires, lastUsed.Add(r.GuaranteedDelivery))
}

// Raise is the raise of both procedures: for a renewal in progress whose
// recorded rules are rec, it returns the rules to record under a
// process's rules r (each value the longer of the two) and the note for
// the audit trail; ok is false if the recorded rules stand. For a renewal
// whose switch was confirmed at switched (zero: not yet), exp is the old
// key's or certificate's expiry under the new rules if that moves
// expires later, else zero.
func Raise(rec *Retention, r Rules, expires, switched time.Time) (want *Retention, exp time.Time, note string, ok bool) {
	eff := Effective(rec, r)
	want = eff.Record()
	if rec != nil && *rec == *want {
		return nil, time.Time{}, "", false
	}
	if !switched.IsZero() {
		if e := ExpiryUnder(expires, switched, eff); e.After(expires) {
			exp = e
		}
	}
	if rec == nil {
		return want, exp, "recorded the retention policy: " + eff.Describe(), true
	}
	was := Rules{GuaranteedDelivery: time.Duration(rec.GuaranteedDelivery), RetentionFloor: time.Duration(rec.RetentionFloor)}
	return want, exp, fmt.Sprintf("raised the retention policy to a process's: %s; was %s", eff.Describe(), was.Describe()), true
}

// FmtDuration writes whole days as days.
func FmtDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
