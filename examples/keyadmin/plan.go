package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// cmdPlan prints, for the renewal in progress or for a new one started
// now, the date each step becomes allowed under the retention rules
// recorded with the renewal, and the evidence collected so far. It
// changes nothing: it reads the store, its state and its audit trail.
func cmdPlan(a *app, args []string) int {
	fs := a.flags()
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	recs, err := rollover.History(a.store)
	if err != nil {
		return a.fail(err)
	}
	r := stage.Report()
	now := r.Time
	done := stepTimes(recs, r)
	if r.Stage == rollover.StageIdle {
		a.printf("plan for a new renewal started now (%s); no renewal is in progress", stamp(now))
	} else {
		a.printf("plan for renewal %d (stage %s), as of %s", r.Renewal, r.Stage, stamp(now))
	}
	a.printf("rules: the old key is kept %s after the last confirmation and %s after it last decrypted a response%s",
		days(r.Retention), days(r.GuaranteedDelivery), retentionSource(r))
	if r.Current.Alias != "" {
		a.printf("current certificate %s valid until %s; renewal due from %s", r.Current.Alias, stamp(r.Current.NotAfter), stamp(r.RenewalDueAt))
	}
	step := func(n, what, when string) { a.printf("  step %-4s %-40s %s", n, what, when) }
	a.printf("steps:")
	allowedNow := "allowed now"
	switch r.Stage {
	case rollover.StageIdle:
		step("1", "create or import the new key pair", allowedNow)
		step("2", "add it to the key store", "right after step 1")
		step("3", "provide the certificate to the receivers", "after step 2, once every process holds the new key")
	default:
		step("1", "create or import the new key pair", "done "+stamp(done[1]))
		switch r.Stage {
		case rollover.StageKeyPairCreated:
			step("2", "add it to the key store", allowedNow)
			step("3", "provide the certificate to the receivers", "after step 2, once every process holds the new key")
		case rollover.StageKeyAdded:
			step("2", "add it to the key store", "done "+stamp(done[2]))
			step("3", "provide the certificate to the receivers", allowedNow+" once every process holds the new key"+a.lacking(r))
		default:
			step("2", "add it to the key store", "done "+stamp(done[2]))
			step("3", "provide the certificate to the receivers", "done "+stamp(r.Provided))
		}
	}
	switch r.Stage {
	case rollover.StageCertificateProvided, rollover.StageReceiversSwitched:
		for _, rr := range r.Receivers {
			when := "waiting for the receiver's word"
			if !rr.Confirmed.IsZero() {
				when = "done " + stamp(rr.Confirmed)
			}
			step("4-6", "receiver "+quote(rr.Receiver.ID)+" switches and confirms", when)
		}
	default:
		step("4-6", "each receiver switches and confirms", "after step 3, when the receivers say so")
	}
	if r.Stage == rollover.StageReceiversSwitched {
		step("7", "remove the old key pair", whenAllowed(a, r.RemovableAt))
	} else {
		// Not known before the last confirmation: the earliest is that
		// confirmation, if it came now, plus the retention.
		earliest := now.Add(r.Retention)
		if r.Old != nil && !r.Old.LastUsed.IsZero() {
			earliest = later(earliest, r.Old.LastUsed.Add(r.GuaranteedDelivery))
		}
		step("7", "remove the old key pair", fmt.Sprintf("%s after the last confirmation; no earlier than %s (%s) if it came now", days(r.Retention), stamp(earliest), a.in(earliest)))
	}
	a.printf("evidence:")
	a.evidence(r)
	return exitOK
}

// stepTimes returns when steps 1 and 2 of the renewal of r were taken,
// from the audit trail.
func stepTimes(recs []rollover.Record, r rollover.Report) map[int]time.Time {
	out := map[int]time.Time{}
	for _, rec := range recs {
		if rec.Renewal != r.Renewal || rec.Partner != "" {
			continue
		}
		switch rec.Action {
		case rollover.ActionCreateKeyPair, rollover.ActionImportKeyPair:
			out[1] = rec.Time
		case rollover.ActionAddToKeyStore:
			out[2] = rec.Time
		}
	}
	return out
}

// lacking names the live holders that do not hold the new key yet.
func (a *app) lacking(r rollover.Report) string {
	if r.New == nil {
		return ""
	}
	hs, err := a.store.Holders(a.ctx)
	if errors.Is(err, keystore.ErrNoRecords) || err != nil {
		return ""
	}
	var ids []string
	for _, h := range hs {
		if !slices.Contains(h.Keys, r.New.Fingerprint) {
			ids = append(ids, h.ID)
		}
	}
	if len(ids) == 0 {
		return fmt.Sprintf(" (%s live, all hold it)", plural(len(hs), "holder"))
	}
	return " (lacking it: " + list(ids) + ")"
}

// evidence prints what the store knows of the keys' use.
func (a *app) evidence(r rollover.Report) {
	line := func(format string, args ...any) { a.printf("  "+format, args...) }
	n := 0
	if r.New != nil {
		if r.FirstNewKeyUse.IsZero() {
			line("new key %s: no response decrypted with it recorded yet", r.New.Alias)
		} else {
			line("new key %s: first response decrypted with it at %s", r.New.Alias, stamp(r.FirstNewKeyUse))
		}
		n++
	}
	if r.Old != nil {
		line("old key %s: last used %s; %s after a confirmation", r.Old.Alias, stamp(r.Old.LastUsed), plural(int(r.OldKeyUsesAfterConfirmation), "use"))
		n++
	}
	for _, rr := range r.Receivers {
		seen := "no response with the new key recorded"
		if !rr.FirstNewKeyUse.IsZero() {
			seen = "new key first seen " + stamp(rr.FirstNewKeyUse)
		}
		line("receiver %s: provided %s; %s; %s of the old key after confirming", quote(rr.Receiver.ID), stamp(rr.Provided), seen, plural(int(rr.OldKeyUsesAfterConfirmation), "use"))
		n++
	}
	if n == 0 {
		line("none yet: no renewal in progress")
	}
}

func whenAllowed(a *app, at time.Time) string {
	if !a.now().Before(at) {
		return "allowed now (since " + stamp(at) + ")"
	}
	return fmt.Sprintf("allowed from %s (%s)", stamp(at), a.in(at))
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
