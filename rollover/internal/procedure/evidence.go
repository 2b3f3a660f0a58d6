package procedure

import (
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// UseAuditInterval is the least time between two audit records about an
// old key's or certificate's use after a confirmation; uses in between
// are counted and go into the next record.
const UseAuditInterval = 24 * time.Hour

// MaxObserved bounds the names (receivers, partners) whose evidence is
// kept apart between two writes, so that a caller passing unchecked
// names cannot grow memory without bound.
const MaxObserved = 256

// Use is what was seen of one key or certificate: counted by a ring
// (Ring) and reported by the application (Obs). An application may do
// both for the same messages, so the evidence counts the larger.
type Use struct {
	Ring, Obs   uint64
	First, Last time.Time
}

// N is the number of uses the evidence counts.
func (u Use) N() uint64 { return max(u.Ring, u.Obs) }

// Uses is evidence not yet written, by name (a receiver, a partner) and
// fingerprint. Not safe for concurrent use.
type Uses map[string]map[wssec.Fingerprint]Use

// Add adds u to the uses of fp by name; it refuses (false) a name beyond
// [MaxObserved] and a fingerprint beyond perName for the name.
func (us Uses) Add(name string, fp wssec.Fingerprint, u Use, perName int) bool {
	obs := us[name]
	if obs == nil {
		if len(us) >= MaxObserved {
			return false
		}
		obs = map[wssec.Fingerprint]Use{}
		us[name] = obs
	}
	x, ok := obs[fp]
	if !ok && perName > 0 && len(obs) >= perName {
		return false
	}
	x.Ring += u.Ring
	x.Obs += u.Obs
	if x.First.IsZero() || !u.First.IsZero() && u.First.Before(x.First) {
		x.First = u.First
	}
	if u.Last.After(x.Last) {
		x.Last = u.Last
	}
	obs[fp] = x
	return true
}

// Merge adds o to us.
func (us Uses) Merge(o Uses, perName int) {
	for name, obs := range o {
		for fp, u := range obs {
			us.Add(name, fp, u, perName)
		}
	}
}

// RingCounter turns a ring's cumulative use counts into the uses since
// the last call. Not safe for concurrent use.
type RingCounter map[wssec.Fingerprint]uint64

// Delta returns the uses of each entry since the last call, and forgets
// fingerprints no longer in entries. A count that went down (a new ring)
// counts from zero.
func (c RingCounter) Delta(entries []wssec.Entry) map[wssec.Fingerprint]uint64 {
	out := map[wssec.Fingerprint]uint64{}
	in := make(map[wssec.Fingerprint]bool, len(entries))
	for _, e := range entries {
		in[e.Fingerprint] = true
		n := e.Uses
		if s := c[e.Fingerprint]; e.Uses >= s {
			n = e.Uses - s
		}
		c[e.Fingerprint] = e.Uses
		if n > 0 {
			out[e.Fingerprint] = n
		}
	}
	for fp := range c {
		if !in[fp] {
			delete(c, fp)
		}
	}
	return out
}

// DueAudit reports whether uses counted but not audited (pending) are due
// an audit record at now: some are pending and no record was appended
// less than [UseAuditInterval] ago (audited).
func DueAudit(pending uint64, audited, now time.Time) bool {
	return pending > 0 && (audited.IsZero() || now.Sub(audited) >= UseAuditInterval)
}
