package main

import (
	"errors"
	"fmt"

	"github.com/wsrenew/wsrenew/keystore"
)

// cmdRestore puts a key that step 7 disabled back into the key ring.
func cmdRestore(a *app, args []string) int {
	fs := a.flags()
	alias := fs.String("alias", "", "the disabled key (required)")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *alias == "" {
		return a.usageError("restore needs -alias, the disabled key that keyadmin status lists")
	}
	if code, ok := a.open(); !ok {
		return code
	}
	err := a.m.RestoreKey(a.ctx, *alias)
	var status *keystore.EntryError
	switch {
	case errors.Is(err, keystore.ErrUnknownAlias):
		fmt.Fprintf(a.stderr, "keyadmin %s: no key %s in the store: it was destroyed after its restore window, or never existed\n", a.cmd, quote(*alias))
		return exitFailure
	case errors.As(err, &status) && status.Err == keystore.ErrStatus:
		fmt.Fprintf(a.stderr, "keyadmin %s: key %s is %s, not disabled: only a key that step 7 disabled can be restored\n", a.cmd, quote(*alias), status.Status)
		return exitStage
	case err != nil:
		return a.fail(err)
	}
	e, err := a.store.View().Entry(*alias)
	if err != nil {
		return a.fail(err)
	}
	a.printf("key %s (%s) restored: in the key ring again as a retained key, retention ended %s", e.Alias, e.Fingerprint.String(), stamp(e.Expires))
	a.printf("find the receiver that still encrypts to it before you remove it again")
	return exitOK
}

// disabledLines prints each disabled key with its restore window, and
// the refusals of messages to it that applications recorded
// (rollover.Manager.ObserveRefusal).
func (a *app) disabledLines() {
	refused, err := a.m.DisabledRefusals()
	if err != nil {
		a.printf("warning: refusals of disabled keys unreadable: %v", err)
	}
	for _, e := range a.store.View().Entries() {
		r := refused[e.Fingerprint]
		if e.Status != keystore.StatusDisabled {
			if r.Count > 0 {
				a.printf("key %s (%s): %s refused while it was disabled, the last at %s", e.Alias, e.Fingerprint.String(), plural(int(r.Count), "message"), stamp(r.Last))
			}
			continue
		}
		a.printf("disabled key %s (%s): out of the key ring since %s, messages to it are refused; destroyed after %s (%s) unless restored with keyadmin restore -alias %s",
			e.Alias, e.Fingerprint.String(), stamp(e.DisabledAt), stamp(e.DestroyAfter), a.in(e.DestroyAfter), e.Alias)
		if r.Count > 0 {
			a.printf("warning: %s encrypted to disabled key %s refused, the last at %s: a receiver still uses it; restore it with keyadmin restore -alias %s",
				plural(int(r.Count), "message"), e.Alias, stamp(r.Last), e.Alias)
		}
	}
}
