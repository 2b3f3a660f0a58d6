package rollover

import (
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// effectivePolicy returns the rules a decision about a renewal uses: for
// the guaranteed delivery time and the retention floor each, the longer
// of the value recorded with the renewal (rec, nil for state written
// before the policy was recorded) and p's. RenewalLead is p's.
func effectivePolicy(rec *procedure.Retention, p Policy) Policy {
	r := procedure.Effective(rec, p.rules())
	return Policy{GuaranteedDelivery: r.GuaranteedDelivery, RetentionFloor: r.RetentionFloor, RenewalLead: p.RenewalLead}
}

// policy returns the rules of the renewal s holds; see effectivePolicy.
func (s *stateDoc) policy(p Policy) Policy {
	return effectivePolicy(s.Retention, p)
}

// oldKeyExpiry returns when the old key's retention period ends under the
// rules of p: the persisted expiry, or later if p's rules ask for more.
// It is zero until every receiver has confirmed.
func (s *stateDoc) oldKeyExpiry(p Policy) time.Time {
	return procedure.ExpiryUnder(s.Expires, s.Switched, s.policy(p).rules())
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
	want, exp, note, ok := procedure.Raise(st.Retention, m.opts.Policy.rules(), st.Expires, switched)
	if !ok {
		return nil
	}
	d.changeState()
	st.Retention = want
	if !exp.IsZero() {
		if err := tx.Retain(st.Old.Alias, exp); err != nil {
			return err
		}
		st.Expires = exp
		note += fmt.Sprintf("; %s may be removed from %s", st.Old.Alias, exp.Format(time.RFC3339))
	}
	d.record(Record{Time: now, Action: ActionRaiseRetention, Actor: m.opts.Actor, Note: note})
	return nil
}
