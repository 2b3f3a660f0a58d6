package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// survivors reports key files left in a directory without a manifest,
// and how to rebuild the store from them. It returns false if there are
// none.
func (a *app) survivors(pw keystore.PasswordSource) bool {
	found, err := keystore.FindSurvivors(a.ctx, keystore.Dir(a.dir), pw)
	if err != nil || len(found) == 0 {
		return false
	}
	fmt.Fprintf(a.stderr, "keyadmin %s: the manifest of the key store in %s is missing, but %d key files are left:\n", a.cmd, a.dir, len(found))
	for _, sv := range found {
		if sv.Err != nil {
			fmt.Fprintf(a.stderr, "  %s (generation %d): %v\n", sv.Alias, sv.Generation, sv.Err)
			continue
		}
		c := sv.Credential.Certificate
		fmt.Fprintf(a.stderr, "  %s (generation %d): %s, subject %s, certificate valid until %s\n",
			sv.Alias, sv.Generation, wssec.FingerprintOf(c).String(), subject(c.Subject), stamp(c.NotAfter))
	}
	fmt.Fprintf(a.stderr, "the renewal's state and audit trail were in the manifest; rebuild the store from these keys with\n")
	fmt.Fprintf(a.stderr, "  keyadmin recover -current ALIAS [-retain ALIAS=DATE]...\n")
	fmt.Fprintf(a.stderr, "naming the key receivers encrypt to now; every other key stays in the ring, until DATE if given\n")
	return true
}

// retainFlags collects repeated -retain ALIAS=DATE flags.
type retainFlags map[string]time.Time

func (r retainFlags) String() string { return "" }

func (r retainFlags) Set(v string) error {
	alias, date, ok := strings.Cut(v, "=")
	if !ok || alias == "" {
		return errors.New("want ALIAS=DATE, such as tenant-2025=2027-06-30")
	}
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		t, err = time.Parse(time.DateOnly, date)
	}
	if err != nil {
		return fmt.Errorf("date %q: want 2027-06-30 or an RFC 3339 time", date)
	}
	r[alias] = t
	return nil
}

// cmdRecover rebuilds a store whose manifest was lost.
func cmdRecover(a *app, args []string) int {
	fs := a.flags()
	current := fs.String("current", "", "alias of the key receivers encrypt to now (required)")
	retain := retainFlags{}
	fs.Var(retain, "retain", "ALIAS=DATE: the key may be removed from DATE (at least 90 days ahead); repeat for each; keys not named are kept with no expiry")
	if code, ok := a.parse(fs, args); !ok {
		return code
	}
	if *current == "" {
		return a.usageError("-current is required: the alias of the key receivers encrypt to now")
	}
	if a.storeDir() == "" {
		return a.usageError("no key store: give -dir DIR or set WSRENEW_KEYSTORE")
	}
	pw, msg := a.password()
	if msg != "" {
		return a.usageError(msg)
	}
	s, err := keystore.Rebuild(a.ctx, keystore.Dir(a.dir), pw, a.storeOptions(),
		keystore.RebuildOptions{Current: *current, RetainUntil: retain})
	if err != nil {
		return a.fail(err)
	}
	if code, ok := a.manage(s); !ok {
		return code
	}
	var kept []string
	for _, e := range s.View().Entries() {
		switch {
		case e.Status == keystore.StatusCurrent:
		case e.Expires.IsZero():
			kept = append(kept, e.Alias+" with no expiry")
		default:
			kept = append(kept, e.Alias+" until "+stamp(e.Expires))
		}
	}
	note := fmt.Sprintf("store rebuilt from the key files left after its manifest was lost: current %s; retained %s; the renewal's state and earlier audit records were lost", *current, strings.Join(kept, ", "))
	if len(kept) == 0 {
		note = fmt.Sprintf("store rebuilt from the key files left after its manifest was lost: current %s; the renewal's state and earlier audit records were lost", *current)
	}
	if err := a.m.Note(a.ctx, note); err != nil {
		return a.fail(err)
	}
	a.printf("rebuilt the key store in %s from %d key files", a.dir, len(s.View().Entries()))
	a.printf("current key: %s", a.describe(*current))
	for _, k := range kept {
		a.printf("retained: %s", k)
	}
	a.printf("the renewal's state was lost with the manifest: every key above stays in the key ring, so nothing a receiver encrypts stops decrypting; a renewal that was in progress starts again with keyadmin create")
	stage, code, ok := a.resume()
	if !ok {
		return code
	}
	a.stageLines(a.printf, stage)
	return exitOK
}
