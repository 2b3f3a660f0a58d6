package main

import (
	"fmt"
	"strings"

	"github.com/wsrenew/wsrenew/rollover"
)

// Exit codes of check, as monitoring plugins (Nagios, Icinga, Zabbix
// external checks) read them.
const (
	checkOK       = 0
	checkWarning  = 1
	checkCritical = 2
	checkUnknown  = 3 // a usage error: the check itself is broken
)

// cmdCheck prints one line saying whether the key store needs attention,
// for cron and monitoring systems, and exits 0 (ok), 1 (warning: a
// renewal is due or a step waits for the operator), 2 (critical: no key
// can decrypt, the store cannot be read, or a certificate receivers may
// encrypt to expires within the guaranteed delivery time) or 3 (usage
// error). It changes nothing.
func cmdCheck(a *app, args []string) int {
	fs := a.flags()
	if code, ok := a.parse(fs, args); !ok {
		if code == exitOK {
			return checkOK // -h
		}
		return checkUnknown
	}
	code, ok := a.open()
	if !ok {
		if code == exitUsage {
			return checkUnknown
		}
		a.printf("CRITICAL: no key can decrypt: cannot open the key store in %s", oneLine(a.dir))
		return checkCritical
	}
	stage, err := a.m.Resume(a.ctx)
	if err != nil {
		a.printf("CRITICAL: cannot read the renewal state: %s", oneLine(err.Error()))
		return checkCritical
	}
	r := stage.Report()
	a.printf("%s: %s", strings.ToUpper(r.Health.String()), oneLine(r.HealthReason))
	switch r.Health {
	case rollover.HealthOK:
		return checkOK
	case rollover.HealthWarning:
		return checkWarning
	}
	return checkCritical
}

// oneLine keeps s on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(fmt.Sprint(s)), " ")
}
