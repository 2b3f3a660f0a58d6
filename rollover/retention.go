package rollover

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
)

// retentionRecord is the retention policy persisted with a renewal: the
// values in effect when it started (step 1), resolved, so that a process
// with a shorter or a zero [Policy] cannot shorten the retention of a
// renewal another process started. A Manager whose Policy is longer raises
// the values with the next change it writes; they are never lowered.
type retentionRecord struct {
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

// recordOf returns the resolved values of p.
func recordOf(p Policy) *retentionRecord {
	return &retentionRecord{
		GuaranteedDelivery: duration(p.guaranteedDelivery()),
		RetentionFloor:     duration(p.retentionFloor()),
	}
}

func (r *retentionRecord) check() error {
	if r != nil && (r.GuaranteedDelivery < 0 || r.RetentionFloor < 0) {
		return fmt.Errorf("negative retention")
	}
	return nil
}

// effectivePolicy returns the rules a decision about a renewal uses: for
// the guaranteed delivery time and the retention floor each, the longer
// of the value recorded with the renewal (rec, nil for state written
// before the policy was recorded) and p's. RenewalLead is p's.
func effectivePolicy(rec *retentionRecord, p Policy) Policy {
	out := Policy{
		GuaranteedDelivery: p.guaranteedDelivery(),
		RetentionFloor:     p.retentionFloor(),
		RenewalLead:        p.RenewalLead,
	}
	if rec != nil {
		out.GuaranteedDelivery = max(out.GuaranteedDelivery, time.Duration(rec.GuaranteedDelivery))
		out.RetentionFloor = max(out.RetentionFloor, time.Duration(rec.RetentionFloor))
	}
	return out
}

// policy returns the rules of the renewal s holds; see effectivePolicy.
func (s *stateDoc) policy(p Policy) Policy {
	return effectivePolicy(s.Retention, p)
}

// oldKeyExpiry returns when the old key's retention period ends under the
// rules of p: the persisted expiry, or later if p's rules ask for more.
// It is zero until every receiver has confirmed.
func (s *stateDoc) oldKeyExpiry(p Policy) time.Time {
	return expiryUnder(s.Expires, s.Switched, s.policy(p))
}

// expiryUnder returns the later of expires and switched plus p's
// retention; zero while expires is.
func expiryUnder(expires, switched time.Time, p Policy) time.Time {
	if expires.IsZero() {
		return time.Time{}
	}
	if switched.IsZero() {
		return expires
	}
	if t := switched.Add(p.Retention()); t.After(expires) {
		return t
	}
	return expires
}

// describeRetention describes the rules of p for the audit trail.
func describeRetention(p Policy) string {
	return fmt.Sprintf("retention %s after the last confirmation (guaranteed delivery %s, retention floor %s)",
		fmtDuration(p.Retention()), fmtDuration(p.guaranteedDelivery()), fmtDuration(p.retentionFloor()))
}

// fmtDuration writes whole days as days.
func fmtDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// raiseRetention records the Manager's Policy with a renewal in progress
// where it is longer than the recorded one, and moves the old key's expiry
// in the store accordingly. It appends an audit record if it changed
// anything.
func (m *Manager) raiseRetention(tx *keystore.Tx, d *docs, now time.Time) error {
	st := d.state
	var switched time.Time
	if st.Stage == StageReceiversSwitched {
		switched = st.Switched
	}
	want, exp, note, ok := raisedRetention(st.Retention, m.opts.Policy, st.Expires, switched)
	if !ok {
		return nil
	}
	d.changeState()
	st.Retention = want
	if !exp.IsZero() {
		if err := tx.SetExpiry(st.Old.Alias, exp); err != nil {
			return err
		}
		st.Expires = exp
		note += fmt.Sprintf("; %s may be removed from %s", st.Old.Alias, exp.Format(time.RFC3339))
	}
	d.record(Record{Time: now, Action: ActionRaiseRetention, Actor: m.opts.Actor, Note: note})
	return nil
}

// raisedRetention is the raise of both procedures: for a renewal in
// progress whose recorded rules are rec, it returns the rules to record
// under the Manager's Policy p (each value the longer of the two) and the
// note for the audit trail; ok is false if the recorded rules stand. For
// a renewal whose switch was confirmed at switched (zero: not yet), exp
// is the old key's or certificate's expiry under the new rules if that
// moves expires later, else zero.
func raisedRetention(rec *retentionRecord, p Policy, expires, switched time.Time) (want *retentionRecord, exp time.Time, note string, ok bool) {
	eff := effectivePolicy(rec, p)
	want = recordOf(eff)
	if rec != nil && *rec == *want {
		return nil, time.Time{}, "", false
	}
	if !switched.IsZero() {
		if e := expiryUnder(expires, switched, eff); e.After(expires) {
			exp = e
		}
	}
	return want, exp, raiseNote(rec, eff), true
}

// raiseNote describes the raise of the recorded rules old (nil: none
// recorded) to eff.
func raiseNote(old *retentionRecord, eff Policy) string {
	if old == nil {
		return "recorded the retention policy: " + describeRetention(eff)
	}
	was := Policy{GuaranteedDelivery: time.Duration(old.GuaranteedDelivery), RetentionFloor: time.Duration(old.RetentionFloor)}
	return fmt.Sprintf("raised the retention policy to a process's: %s; was %s", describeRetention(eff), describeRetention(was))
}
