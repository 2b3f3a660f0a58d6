package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// next says what the operator does next at stage s.
func (a *app) next(s rollover.Stage) string {
	switch s := s.(type) {
	case *rollover.Idle:
		return "keyadmin create -alias NEW (step 1), or keyadmin import for a key pair made elsewhere"
	case *rollover.KeyPairCreated:
		return "keyadmin add (step 2); for a CA-signed certificate first keyadmin csr and keyadmin adopt; or keyadmin cancel"
	case *rollover.KeyAdded:
		return "keyadmin provide -receiver ID -to-dir DIR (step 3), once every process decrypting with this store has reloaded it; or keyadmin cancel"
	case *rollover.CertificateProvided:
		return fmt.Sprintf("receivers switch to the new certificate (steps 4-5); record each one's word with keyadmin confirm -receiver ID -by NAME -ref TICKET (step 6); pending: %s", list(s.Report().Pending))
	case *rollover.ReceiversSwitched:
		at := s.Report().RemovableAt
		if !a.now().Before(at) {
			return "keyadmin remove (step 7), allowed now"
		}
		return fmt.Sprintf("keyadmin remove (step 7), allowed from %s (%s)", stamp(at), a.in(at))
	}
	return ""
}

// stageLines prints where the procedure stands and what comes next.
func (a *app) stageLines(w func(string, ...any), s rollover.Stage) {
	w("stage: %s (renewal %d)", s.Report().Stage, s.Report().Renewal)
	w("next: %s", a.next(s))
}

// wrongStage reports a command that stage s does not allow, and why,
// what the renewal has done so far and what comes next.
func (a *app) wrongStage(s rollover.Stage, why string) int {
	fmt.Fprintf(a.stderr, "keyadmin %s: not possible at stage %s of renewal %d: %s\n", a.cmd, s.Report().Stage, s.Report().Renewal, why)
	if done := doneSoFar(s); done != "" {
		a.errorf("done: %s", done)
	}
	a.stageLines(a.errorf, s)
	return exitStage
}

// doneSoFar says what the renewal in progress at stage s has done.
func doneSoFar(s rollover.Stage) string {
	r := s.Report()
	if r.New == nil || r.Old == nil {
		if r.Renewal > 0 {
			return fmt.Sprintf("renewal %d %s at %s; no renewal is in progress", r.Renewal, r.Outcome, stamp(r.Ended))
		}
		return "no renewal has started"
	}
	switch s.Report().Stage {
	case rollover.StageKeyPairCreated:
		return fmt.Sprintf("step 1: new key %s is stored, pending", r.New.Alias)
	case rollover.StageKeyAdded:
		return fmt.Sprintf("steps 1 and 2: new key %s is the current key, old key %s is retained", r.New.Alias, r.Old.Alias)
	case rollover.StageCertificateProvided:
		return fmt.Sprintf("steps 1 to 3: the certificate of %s was provided at %s", r.New.Alias, stamp(r.Provided))
	case rollover.StageReceiversSwitched:
		return fmt.Sprintf("steps 1 to 6: every receiver confirmed; old key %s is retained until %s", r.Old.Alias, stamp(r.OldKeyExpires))
	}
	return ""
}

// refused reports a refusal and when the command becomes allowed; a zero
// at means that it depends on something only the receivers can do,
// which when explains.
func (a *app) refused(reason string, at time.Time, when string) int {
	fmt.Fprintf(a.stderr, "keyadmin %s: refused: %s\n", a.cmd, reason)
	if !at.IsZero() {
		fmt.Fprintf(a.stderr, "allowed from: %s (%s)\n", stamp(at), a.in(at))
	} else if when != "" {
		fmt.Fprintf(a.stderr, "allowed: %s\n", when)
	}
	return exitRefused
}

func (a *app) errorf(format string, args ...any) {
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// fail reports err and returns its exit code.
func (a *app) fail(err error) int {
	var (
		removal   *rollover.RemovalError
		retention *wssec.KeyError
		stage     *rollover.StageError
		status    *keystore.EntryError
		expiry    *keystore.EntryError
	)
	switch {
	case errors.Is(err, keystore.ErrOutcomeUnknown):
		return a.outcomeUnknown(err)
	case errors.Is(err, keystore.ErrNoSpace), errors.Is(err, keystore.ErrReadOnly):
		fmt.Fprintf(a.stderr, "keyadmin %s: %v\n", a.cmd, err)
		fmt.Fprintf(a.stderr, "nothing was changed; free space or make %s writable, then run the command again\n", a.dir)
		return exitFailure
	case errors.As(err, &expiry) && expiry.Err == keystore.ErrRetentionFloor:
		fmt.Fprintf(a.stderr, "keyadmin %s: refused: %v\n", a.cmd, err)
		fmt.Fprintf(a.stderr, "a key that was handed out is kept at least 90 days, and an expiry only moves later; give %s or later\n", stamp(expiry.Earliest))
		return exitRefused
	case errors.As(err, &removal):
		return a.refuseRemoval(removal)
	case errors.As(err, &retention) && retention.Err == wssec.ErrRetentionNotElapsed:
		return a.refused(fmt.Sprintf("key %s is retained: %v", retention.Fingerprint.String(), err), retention.AllowedAt,
			"once every receiver has confirmed the switch, plus the retention period")
	case errors.As(err, &stage):
		// The store moved on while this command ran (another process),
		// or a renewal is in progress: say where it stands now.
		fmt.Fprintf(a.stderr, "keyadmin %s: %v\n", a.cmd, err)
		if a.m == nil {
			return exitStage
		}
		if s, rerr := a.m.Resume(a.ctx); rerr == nil {
			a.stageLines(a.errorf, s)
		}
		return exitStage
	case errors.As(err, &status) && status.Err == keystore.ErrStatus && status.Status == keystore.StatusPending:
		return a.refused(fmt.Sprintf("key %s is pending: its certificate is not handed out before the key is in the key ring", status.Alias),
			time.Time{}, "after step 2, keyadmin add")
	case errors.Is(err, rollover.ErrAlreadyConfirmed):
		fmt.Fprintf(a.stderr, "keyadmin %s: %v\n", a.cmd, err)
		return exitStage
	case errors.Is(err, rollover.ErrInvalidArgument), errors.Is(err, rollover.ErrUnknownReceiver),
		errors.Is(err, keystore.ErrInvalidName), errors.Is(err, keystore.ErrInvalidOptions),
		errors.Is(err, keystore.ErrUnknownAlias), errors.Is(err, keystore.ErrDuplicateAlias),
		errors.Is(err, keystore.ErrNoPassword):
		fmt.Fprintf(a.stderr, "keyadmin %s: %v\n", a.cmd, err)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "keyadmin %s: %v\n", a.cmd, err)
	return exitFailure
}

// refuseRemoval explains a refused step 7.
func (a *app) refuseRemoval(e *rollover.RemovalError) int {
	old := fmt.Sprintf("%s (%s)", e.Alias, e.Fingerprint.String())
	switch {
	case errors.Is(e.Err, rollover.ErrReceiversPending):
		return a.refused(fmt.Sprintf("receivers %s have not confirmed that they encrypt with the new key, so old key %s has no expiry yet", list(e.Pending), old),
			time.Time{}, a.afterConfirmation(0))
	case errors.Is(e.Err, rollover.ErrKeyInUse):
		return a.refused(fmt.Sprintf("old key %s decrypted a response at %s, less than the guaranteed delivery time ago", old, stamp(e.LastUsed)),
			e.AllowedAt, "")
	}
	return a.refused(fmt.Sprintf("the retention period of old key %s has not ended", old), e.AllowedAt, "")
}

// afterConfirmation says when removal becomes allowed while receivers
// have not confirmed. recorded is the retention the renewal recorded
// (rollover.Report.Retention); the longer of it and this tool's policy
// applies.
func (a *app) afterConfirmation(recorded time.Duration) string {
	r := max(a.policy.Retention(), recorded)
	return fmt.Sprintf("%s after the last receiver confirms; %s at the earliest", days(r), stamp(a.now().Add(r)))
}

// stamp formats a time for output.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// in says how far t is from now, in calendar days (UTC), so that "in 2
// days" is the day after tomorrow whatever the hour.
func (a *app) in(t time.Time) string {
	date := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	n := int(date(t).Sub(date(a.now())).Round(time.Hour).Hours() / 24)
	switch {
	case n == 0:
		return "today"
	case n > 0:
		return "in " + plural(n, "day")
	}
	return plural(-n, "day") + " ago"
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

func plural(n int, unit string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", unit)
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// outcomeUnknown reports a change that may or may not be committed, and
// what the store holds when read again.
func (a *app) outcomeUnknown(err error) int {
	fmt.Fprintf(a.stderr, "keyadmin %s: %v\n", a.cmd, err)
	pw, _ := a.password()
	s, oerr := keystore.Open(a.ctx, keystore.Dir(a.dir), pw, a.storeOptions())
	if oerr != nil {
		fmt.Fprintf(a.stderr, "reading the store again failed: %v\n", oerr)
		return exitFailure
	}
	fmt.Fprintf(a.stderr, "read again, the store holds generation %d:\n", s.View().Generation())
	if code, ok := a.manage(s); !ok {
		return code
	}
	if st, rerr := a.m.Resume(a.ctx); rerr == nil {
		a.stageLines(a.errorf, st)
	}
	fmt.Fprintln(a.stderr, "the change is visible but may not survive a power loss; check the storage, then run 'keyadmin status'")
	return exitFailure
}
