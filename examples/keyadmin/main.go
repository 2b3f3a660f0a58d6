// Command keyadmin is the operator's tool for renewing the key pair that
// decrypts WS-Security encrypted responses, one step at a time, by hand.
// It works on a key store directory (package keystore) and takes the steps
// of the renewal procedure through package rollover, which keeps the stage
// reached, the receivers and the audit trail in the store between runs.
//
//	keyadmin [-dir DIR] [-password-env NAME | -password-file PATH] <command> [flags]
//
// The store password has no default: it comes from the environment
// variable or the file named, and is never printed. -dir defaults to
// $WSRENEW_KEYSTORE. The retention rules are recorded in the store with
// each renewal and never lowered; give every run the application's
// guaranteed delivery time, -guaranteed-delivery, which defaults to
// $WSRENEW_GUARANTEED_DELIVERY, else to the 90-day floor, so that a longer
// one raises them. A renewal, each step usually on another day:
//
//	keyadmin init -alias tenant-2025 -subject CN=tenant.example   # once, on a fresh machine
//	keyadmin create -alias tenant-2027                 # step 1
//	keyadmin add                                       # step 2
//	keyadmin provide -receiver partner -to-dir out/    # step 3
//	keyadmin confirm -receiver partner -by NAME -ref TICKET   # step 6
//	keyadmin remove                                    # step 7, 90 days later: disables the old key
//	keyadmin restore -alias tenant-2025                # within 7 days, if a receiver still used it
//	keyadmin status -history
//	keyadmin plan                                      # when each step is allowed; changes nothing
//	keyadmin check                                     # from cron or a monitoring system
//
// Exit codes: 0 done; 1 failed; 2 usage error; 3 the command does not fit
// the stage the renewal is in (the message names the stage and the next
// step); 4 refused for now (the message says why and from when the
// command is allowed). check, for monitoring, exits 0 ok, 1 warning (a
// renewal is due, or a step waits for the operator), 2 critical (no key
// can decrypt, or a certificate receivers may use expires within the
// guaranteed delivery time), 3 usage error, and prints one line.
// -renewal-lead (default $WSRENEW_RENEWAL_LEAD, else 60 days) says how
// long before the current certificate expires a renewal is due.
//
// The global flag -now RFC3339 simulates a command at another time, such as
// showing the 90-day retention of the old key without waiting. It never
// changes the store: the command runs on a temporary copy, which is
// deleted afterwards, and the store's audit trail records that a
// simulation ran. Commands that hand a certificate out (provide,
// export-cert), init and recover refuse it.
package main

import (
	"os"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv, time.Now))
}
