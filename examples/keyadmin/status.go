package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// cmdStatus shows the keys, where the renewal stands and, with -history,
// the audit trail.
func cmdStatus(a *app, args []string) int {
	fs := a.flags()
	history := fs.Bool("history", false, "also print the audit trail, oldest first")
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
	r := stage.Report()
	a.printf("key store: %s", a.dir)
	a.stageLines(a.printf, stage)
	if r.Current.Alias == "" {
		a.printf("current key: none; create one with keyadmin init")
	} else {
		a.printf("current key: %s, certificate valid until %s (%s left)", r.Current.Alias, stamp(r.Current.NotAfter), plural(r.DaysLeft, "day"))
	}
	if r.RenewalDue {
		if r.Stage == rollover.StageIdle {
			a.printf("warning: renewal due: the current certificate expires in %s; start with keyadmin create", plural(r.DaysLeft, "day"))
		} else {
			a.printf("warning: renewal due: the current certificate expires in %s", plural(r.DaysLeft, "day"))
		}
	}
	if !r.RenewalDueAt.IsZero() {
		a.printf("renewal due from: %s (%s)", stamp(r.RenewalDueAt), a.in(r.RenewalDueAt))
	}
	a.printf("%s", nextLine(a, r))
	a.printf("check: %s: %s", r.Health, r.HealthReason)
	a.printf("retention rules: the old key is kept %s after the last confirmation (guaranteed delivery %s, at least 90 days), and %s after it last decrypted a response%s",
		days(r.Retention), days(r.GuaranteedDelivery), days(r.GuaranteedDelivery), retentionSource(r))
	a.keys(r)
	a.holders(r)
	if len(r.Receivers) > 0 {
		a.receivers(r)
	}
	if r.Stage == rollover.StageReceiversSwitched && r.Old != nil {
		a.printf("old key %s: retained until %s; removable from %s (%s)", r.Old.Alias, stamp(r.OldKeyExpires), stamp(r.RemovableAt), a.in(r.RemovableAt))
	}
	a.disabledLines()
	if r.Stage == rollover.StageIdle && r.Renewal > 0 {
		a.printf("last renewal: %d %s at %s", r.Renewal, r.Outcome, stamp(r.Ended))
	}
	if *history {
		return a.history()
	}
	return exitOK
}

// keys prints one line per key of the store.
func (a *app) keys(r rollover.Report) {
	lastUsed := map[wssec.Fingerprint]time.Time{}
	for _, k := range []*rollover.KeyReport{&r.Current, r.New, r.Old} {
		if k != nil && !k.LastUsed.IsZero() {
			lastUsed[k.Fingerprint] = k.LastUsed
		}
	}
	a.holderUse(lastUsed)
	a.printf("keys:")
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ALIAS\tSTATUS\tFINGERPRINT\tCERTIFICATE UNTIL\tRETAINED UNTIL\tLAST USED\tKEY IN")
	for _, e := range a.store.View().Entries() {
		retained := "-"
		if e.Status == keystore.StatusRetained {
			retained = "no expiry yet"
			if !e.Expires.IsZero() {
				retained = stamp(e.Expires)
			}
		}
		if e.Status == keystore.StatusDisabled {
			retained = stamp(e.Expires)
		}
		used := "none recorded"
		if t, ok := lastUsed[e.Fingerprint]; ok {
			used = stamp(t)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Alias, e.Status, e.Fingerprint.String(), stamp(e.Certificate.NotAfter), retained, used, keyInShort(e))
	}
	tw.Flush()
}

// receivers prints the receivers of the new certificate and the evidence
// of what they encrypt to.
func (a *app) receivers(r rollover.Report) {
	a.printf("receivers (certificate provided %s):", stamp(r.Provided))
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  RECEIVER\tCONFIRMED\tBY\tREFERENCE\tNEW KEY FIRST SEEN\tDESCRIPTION")
	for _, rr := range r.Receivers {
		confirmed := "pending"
		if !rr.Confirmed.IsZero() {
			confirmed = stamp(rr.Confirmed)
		}
		seen := "-"
		if !rr.FirstNewKeyUse.IsZero() {
			seen = stamp(rr.FirstNewKeyUse)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", quote(rr.Receiver.ID), confirmed, orDash(rr.By), orDash(rr.Reference), seen, orDash(rr.Receiver.Description))
	}
	tw.Flush()
	if r.FirstNewKeyUse.IsZero() {
		a.printf("new key: no response decrypted with it recorded yet")
	} else {
		a.printf("new key: first response decrypted with it at %s", stamp(r.FirstNewKeyUse))
	}
	for _, rr := range r.Receivers {
		if rr.OldKeyUsesAfterConfirmation > 0 {
			a.printf("warning: %s confirmed, but the old key decrypted %s from it afterwards", quote(rr.Receiver.ID), plural(int(rr.OldKeyUsesAfterConfirmation), "response"))
		}
	}
	if r.OldKeyUsesAfterConfirmation > 0 {
		a.printf("warning: the old key decrypted %s after a confirmation", plural(int(r.OldKeyUsesAfterConfirmation), "response"))
	}
}

// history prints the audit trail.
func (a *app) history() int {
	recs, err := rollover.History(a.store)
	if err != nil {
		return a.fail(err)
	}
	a.printf("history:")
	if len(recs) == 0 {
		a.printf("  no steps taken yet")
	}
	for _, rec := range recs {
		var b strings.Builder
		fmt.Fprintf(&b, "  %s  renewal %d  %s", stamp(rec.Time), rec.Renewal, rec.Action)
		field := func(name, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %s=%s", name, quote(v))
			}
		}
		field("actor", rec.Actor)
		if rec.NewKey != (wssec.Fingerprint{}) {
			field("new", rec.NewKey.String())
		}
		if rec.OldKey != (wssec.Fingerprint{}) {
			field("old", rec.OldKey.String())
		}
		field("receiver", rec.Receiver)
		field("by", rec.By)
		field("ref", rec.Reference)
		if rec.Count > 0 {
			field("count", fmt.Sprint(rec.Count))
		}
		if rec.Note != "" {
			fmt.Fprintf(&b, "  note=%q", rec.Note)
		}
		a.printf("%s", b.String())
	}
	return exitOK
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return quote(s)
}

// retentionSource says where the retention rules of r come from.
func retentionSource(r rollover.Report) string {
	if r.Stage == rollover.StageIdle {
		return "; a renewal records them at step 1 and never lowers them"
	}
	return fmt.Sprintf("; recorded with renewal %d, raised by any run with a longer -guaranteed-delivery, never lowered", r.Renewal)
}

// nextLine says which step comes next and from when it is allowed, as
// the check command judges it.
func nextLine(a *app, r rollover.Report) string {
	n := r.Next
	s := fmt.Sprintf("next step: %d (%s)", n.Step, n.Name)
	switch {
	case len(n.WaitingFor) > 0:
		return s + ", waiting for " + list(n.WaitingFor)
	case n.AllowedNow:
		return s + ", allowed now"
	}
	return fmt.Sprintf("%s, allowed from %s (%s)", s, stamp(n.AllowedAt), a.in(n.AllowedAt))
}
