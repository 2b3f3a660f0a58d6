package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// cmdConfirm records a receiver's word that it switched (steps 4 to 6).
func cmdConfirm(a *app, args []string) int {
	fs := a.flags()
	receiver := fs.String("receiver", "", "the receiver's ID, as given to keyadmin provide (required)")
	by := fs.String("by", "", "who confirmed on the receiver's side (required)")
	ref := fs.String("ref", "", "where the confirmation is found again, such as a ticket (required)")
	note := fs.String("note", "", "note for the audit trail")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	for _, f := range []struct{ name, v string }{{"receiver", *receiver}, {"by", *by}, {"ref", *ref}} {
		if f.v == "" {
			return a.usageError("-" + f.name + " is required")
		}
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	var provided *rollover.CertificateProvided
	switch s := stage.(type) {
	case *rollover.CertificateProvided:
		provided = s
	case *rollover.ReceiversSwitched:
		return a.wrongStage(stage, "every receiver has confirmed already")
	default:
		return a.wrongStage(stage, "receivers confirm after step 3")
	}
	c := rollover.Confirmation{Receiver: *receiver, By: *by, Reference: *ref, Note: *note}
	next, err := provided.ConfirmReceiverSwitched(a.ctx, c)
	// Another confirm (of another receiver) committed since this one
	// read the stage: confirmations of different receivers commute, so
	// take it again on the stage the store holds now.
	for attempt := 0; attempt < 3 && stillProvided(err, provided); attempt++ {
		stage, code, ok := a.resume()
		if !ok {
			return code
		}
		p, ok := stage.(*rollover.CertificateProvided)
		if !ok {
			break
		}
		provided = p
		next, err = provided.ConfirmReceiverSwitched(a.ctx, c)
	}
	var se *rollover.StageError
	if errors.As(err, &se) && se.Stale {
		fmt.Fprintf(a.stderr, "keyadmin %s: another change was committed while this one ran (the store now holds stage %s of renewal %d); check 'keyadmin status' and run it again\n", a.cmd, se.Stored, se.Renewal)
		return exitStage
	}
	if err != nil {
		code := a.fail(err)
		if errors.Is(err, rollover.ErrUnknownReceiver) {
			a.errorf("the certificate was provided to: %s", list(receiverIDs(provided.Report())))
		}
		return code
	}
	a.printf("step 6 recorded: %s encrypts with the new key (confirmed by %s, reference %s)", quote(*receiver), quote(*by), quote(*ref))
	switch s := next.(type) {
	case *rollover.CertificateProvided:
		a.printf("still pending: %s; the old key keeps no expiry until they confirm", list(s.Report().Pending))
	case *rollover.ReceiversSwitched:
		r := s.Report()
		a.printf("every receiver has confirmed: old key %s is retained until %s (%s)", r.Old.Alias, stamp(s.Report().OldKeyExpires), a.in(s.Report().OldKeyExpires))
	}
	a.stageLines(a.printf, next)
	return exitOK
}

// stillProvided reports whether err says that the store moved on from p
// while the same renewal still waits for confirmations.
func stillProvided(err error, p *rollover.CertificateProvided) bool {
	var se *rollover.StageError
	return errors.As(err, &se) && se.Stale && se.Stored == rollover.StageCertificateProvided && se.Renewal == p.Report().Renewal
}

func receiverIDs(r rollover.Report) []string {
	ids := make([]string, len(r.Receivers))
	for i, rr := range r.Receivers {
		ids[i] = rr.Receiver.ID
	}
	return ids
}

// cmdRemove is step 7.
func cmdRemove(a *app, args []string) int {
	fs := a.flags()
	window := fs.String("restore-window", "", "how long the old key stays disabled, restorable with keyadmin restore, before it is destroyed: a duration such as 7d (the default), or none")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	switch *window {
	case "":
	case "none":
		a.policy.RestoreWindow = -1
	default:
		d, err := parseDuration(*window)
		if err != nil || d <= 0 {
			return a.usageError("-restore-window wants a duration such as 7d or 72h, or none")
		}
		a.policy.RestoreWindow = d
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	var switched *rollover.ReceiversSwitched
	switch s := stage.(type) {
	case *rollover.ReceiversSwitched:
		switched = s
	case *rollover.CertificateProvided:
		rep := s.Report()
		old := rep.Old
		return a.refused(fmt.Sprintf("receivers %s have not confirmed that they encrypt with the new key, so old key %s (%s) has no expiry yet",
			list(s.Report().Pending), old.Alias, old.Fingerprint.String()), time.Time{}, a.afterConfirmation(rep.Retention))
	default:
		return a.wrongStage(stage, "the old key is removed in step 7, after every receiver confirmed")
	}
	old := switched.Report().Old
	idle, err := switched.RemoveOldKey(a.ctx)
	if err != nil {
		return a.fail(err)
	}
	if e, err := a.store.View().Entry(old.Alias); err == nil && e.Status == keystore.StatusDisabled {
		a.printf("step 7 done: old key %s (%s) disabled; renewal %d completed", old.Alias, old.Fingerprint.String(), idle.Report().Renewal)
		a.printf("messages still encrypted to it are refused; it is destroyed after %s (%s) unless restored with keyadmin restore -alias %s",
			stamp(e.DestroyAfter), a.in(e.DestroyAfter), old.Alias)
	} else {
		a.printf("step 7 done: old key %s (%s) removed; renewal %d completed", old.Alias, old.Fingerprint.String(), idle.Report().Renewal)
	}
	a.printf("current key: %s", a.describe(idle.Report().Current.Alias))
	a.stageLines(a.printf, idle)
	return exitOK
}

// cmdCancel abandons a renewal before step 3.
func cmdCancel(a *app, args []string) int {
	fs := a.flags()
	reason := fs.String("reason", "", "why, for the audit trail (required)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *reason == "" {
		return a.usageError("-reason is required")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	var idle *rollover.Idle
	var err error
	switch s := stage.(type) {
	case *rollover.KeyPairCreated:
		idle, err = s.Cancel(a.ctx, *reason)
	case *rollover.KeyAdded:
		idle, err = s.Cancel(a.ctx, *reason)
	case *rollover.Idle:
		return a.wrongStage(stage, "no renewal is in progress")
	default:
		return a.wrongStage(stage, "the certificate was provided to receivers, who may already encrypt to the new key, so the renewal can no longer be cancelled")
	}
	if err != nil {
		return a.fail(err)
	}
	a.printf("renewal %d cancelled; the new key was removed from the store", idle.Report().Renewal)
	a.printf("current key: %s", a.describe(idle.Report().Current.Alias))
	a.stageLines(a.printf, idle)
	return exitOK
}
