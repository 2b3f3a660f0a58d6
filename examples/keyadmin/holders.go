package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
	"github.com/wsrenew/wsrenew/wssec"
)

// holders prints the live holders of the store (processes that follow it
// with keystore.Follow) and which keys each has loaded: step 3 waits
// until every one of them holds the new key.
func (a *app) holders(r rollover.Report) {
	hs, err := a.store.Holders(a.ctx)
	if errors.Is(err, keystore.ErrNoRecords) {
		return
	}
	if err != nil {
		a.printf("holders: cannot list them: %v", err)
		return
	}
	if len(hs) == 0 {
		a.printf("holders: none live (no running process follows this store)")
		return
	}
	aliases := map[wssec.Fingerprint]string{}
	for _, e := range a.store.View().Entries() {
		aliases[e.Fingerprint] = e.Alias
	}
	a.printf("holders (processes decrypting with this store's keys):")
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOLDER\tHOST\tPID\tGENERATION\tKEYS LOADED (SELF-TEST)\tHEARTBEAT\tSTATE")
	for _, h := range hs {
		var keys []string
		name := func(fp wssec.Fingerprint) string {
			if a := aliases[fp]; a != "" {
				return a
			}
			return fp.String()
		}
		for _, fp := range h.Keys {
			keys = append(keys, name(fp)+" ok")
		}
		for fp := range h.Failed {
			keys = append(keys, name(fp)+" failed")
		}
		slices.Sort(keys)
		state := "ready"
		switch {
		case h.Error != "":
			state = "cannot read the store: " + h.Error
		case r.New != nil && r.Stage == rollover.StageKeyAdded && !slices.Contains(h.Keys, r.New.Fingerprint):
			state = "lacks the new key " + r.New.Alias
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\t%s\t%s\n", quote(h.ID), quote(h.Host), h.PID, h.Generation, strings.Join(keys, ", "), stamp(h.Heartbeat), state)
	}
	tw.Flush()
}

// holderUse adds to lastUsed what the store's holders recorded, live or
// stopped: the evidence step 7 reads.
func (a *app) holderUse(lastUsed map[wssec.Fingerprint]time.Time) {
	recorded, err := a.store.Usage(a.ctx)
	if err != nil {
		return // no records kept, or unreadable: status shows the rest
	}
	for _, u := range recorded {
		if u.LastUsed.After(lastUsed[u.Fingerprint]) {
			lastUsed[u.Fingerprint] = u.LastUsed
		}
	}
}
