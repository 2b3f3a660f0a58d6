package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitStage   = 3 // the command does not fit the stage of the renewal
	exitRefused = 4 // the command is refused for now; the message says until when
)

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis of its flags
	summary string
	run     func(a *app, args []string) int
}

// commands returns the subcommands. It is a function, not a variable,
// because the commands print the usage text built from it.
func commands() []command {
	return []command{
		{"init", "-alias A [-subject DN] [-bits N] [-validity D] | -alias A (-pkcs12 FILE | -pem FILE | -key FILE -cert FILE)", "create a key store with its first current key", cmdInit},
		{"status", "[-history]", "show the keys, the stage of the renewal and what comes next", cmdStatus},
		{"plan", "", "the date each step becomes allowed under the recorded rules, and the evidence so far; changes nothing", cmdPlan},
		{"check", "", "one line for cron and monitoring; exit 0 ok, 1 warning, 2 critical, 3 usage error", cmdCheck},
		{"show", "-alias A", "show where a key lives and which key transports it can decrypt", cmdShow},
		{"create", "-alias A [-bits 3072] [-subject DN] [-validity 730d] [-pkcs11 URI]", "step 1: generate the new key pair (self-signed), in a PKCS#11 token with -pkcs11", cmdCreate},
		{"import", "-alias A (-pkcs12 FILE | -pem FILE | -key FILE -cert FILE | -pkcs11 URI -cert FILE)", "step 1: take a key pair made elsewhere", cmdImport},
		{"csr", "-out FILE", "step 1: write a certificate request for the new key, for a CA", cmdCSR},
		{"adopt", "-cert FILE", "step 1: replace the new key's certificate with the CA's", cmdAdopt},
		{"add", "", "step 2: make the new key current; the old one still decrypts", cmdAdd},
		{"provide", "-receiver ID[=DESCRIPTION] ... [-transport ID=ALG ...] -to-dir DIR [-note TEXT]", "step 3: self-test, record the receivers, write the hand-off bundle", cmdProvide},
		{"export-cert", "[-alias A] [-format pem|der] [-out FILE]", "write a key's certificate (current key by default); it counts as handed out", cmdExportCert},
		{"confirm", "-receiver ID -by NAME -ref TICKET [-note TEXT]", "steps 4-6: record that a receiver encrypts with the new key", cmdConfirm},
		{"remove", "[-restore-window 7d|none]", "step 7: disable the old key pair once its retention has ended; destroyed after the restore window", cmdRemove},
		{"restore", "-alias A", "put a key that step 7 disabled back into the key ring, within its restore window", cmdRestore},
		{"cancel", "-reason TEXT", "abandon the renewal (only before step 3)", cmdCancel},
		{"recover", "-current ALIAS [-retain ALIAS=DATE]...", "rebuild a store whose manifest was lost from the key files left", cmdRecover},
	}
}

// app holds what the global flags give every command.
type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
	env            func(string) string

	cmd          string
	dir          string
	simulate     time.Time // -now: run on a copy of the store at this time
	simDir       string    // the copy
	passwordEnv  string
	passwordFile string
	actor        string
	now          func() time.Time
	policy       rollover.Policy
	logger       *slog.Logger

	store *keystore.Store
	m     *rollover.Manager
}

// run runs keyadmin with args (without the program name) and returns the
// exit code. env reads the environment; clock is the time (time.Now, a
// fixed clock in tests).
func run(args []string, stdout, stderr io.Writer, env func(string) string, clock func() time.Time) int {
	a := &app{ctx: context.Background(), stdout: stdout, stderr: stderr, env: env}
	g := flag.NewFlagSet("keyadmin", flag.ContinueOnError)
	g.SetOutput(io.Discard)
	g.StringVar(&a.dir, "dir", "", "")
	g.StringVar(&a.passwordEnv, "password-env", "", "")
	g.StringVar(&a.passwordFile, "password-file", "", "")
	g.StringVar(&a.actor, "actor", "", "")
	delivery := g.String("guaranteed-delivery", "", "")
	lead := g.String("renewal-lead", "", "")
	verbose := g.Bool("v", false, "")
	now := g.String("now", "", "") // for tests and demonstrations; not in the usage text
	if err := g.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "keyadmin: %v\n", err)
		fmt.Fprintln(stderr, "run 'keyadmin -h' for usage")
		return exitUsage
	}
	if g.NArg() == 0 {
		usage(stderr)
		return exitUsage
	}
	name, rest := g.Arg(0), g.Args()[1:]
	if name == "help" {
		usage(stdout)
		return exitOK
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == name {
			cmd = &c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "keyadmin: unknown command %q\n", name)
		fmt.Fprintln(stderr, "run 'keyadmin -h' for usage")
		return exitUsage
	}
	a.cmd = name

	a.now = clock
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return a.usageError("-now wants an RFC 3339 time such as 2027-01-04T09:00:00Z")
		}
		switch name {
		case "init", "recover", "provide", "export-cert":
			return a.usageError("-now simulates on a copy of the store; " + name + " cannot be simulated")
		}
		a.simulate = t
	}
	// The store keeps the policy recorded with a renewal and raises it to
	// a longer one of any run; set it once per machine in the
	// environment so that every run raises it to the application's.
	if *delivery == "" {
		*delivery = env("WSRENEW_GUARANTEED_DELIVERY")
	}
	if *delivery != "" {
		d, err := parseDuration(*delivery)
		if err != nil || d < 0 {
			return a.usageError("-guaranteed-delivery (or $WSRENEW_GUARANTEED_DELIVERY) wants a duration such as 30d or 72h")
		}
		a.policy.GuaranteedDelivery = d
	}
	if *lead == "" {
		*lead = env("WSRENEW_RENEWAL_LEAD")
	}
	if *lead != "" {
		d, err := parseDuration(*lead)
		if err != nil || d < 0 {
			return a.usageError("-renewal-lead (or $WSRENEW_RENEWAL_LEAD) wants a duration such as 60d")
		}
		a.policy.RenewalLead = d
	}
	if a.actor == "" {
		a.actor = env("USER")
	}
	a.logger = slog.New(slog.DiscardHandler)
	if *verbose {
		a.logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	code := cmd.run(a, rest)
	if a.simDir != "" {
		os.RemoveAll(a.simDir)
		fmt.Fprintf(stderr, "keyadmin: that was a simulation at %s on a copy; the key store in %s was not changed\n", stamp(a.simulate), a.dir)
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: keyadmin [global flags] <command> [flags]

Renews the key pair that decrypts WS-Security encrypted responses, step by
step, in a key store directory. Run 'keyadmin <command> -h' for a command's
flags.

global flags:
  -dir DIR                    key store directory (default $WSRENEW_KEYSTORE)
  -password-env NAME          read the store password from environment variable NAME
  -password-file PATH         read the store password from the file PATH
                              (one of the two is required; there is no default)
  -actor NAME                 who takes the steps, for the audit trail (default $USER)
  -guaranteed-delivery D      how long receivers may retry or queue a message,
                              such as 30d; the old key is kept at least this long
                              and at least 90 days after the last confirmation
                              (default $WSRENEW_GUARANTEED_DELIVERY, else 90 days);
                              give every run the value the application uses
  -renewal-lead D             how long before the current certificate expires a
                              renewal is due, such as 60d (default
                              $WSRENEW_RENEWAL_LEAD, else 60 days)
  -v                          log every audit record to stderr

commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
exit codes: 0 done, 1 failed, 2 usage error, 3 not possible at the stage the
renewal is in, 4 refused for now (the message says from when it is allowed).
check exits 0 ok, 1 warning, 2 critical, 3 usage error, as monitoring
plugins expect.
`)
}

// flags returns a flag set for the current command.
func (a *app) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("keyadmin "+a.cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses a command's flags. It returns false and the exit code if
// the command should not go on.
func (a *app) parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			a.commandUsage(a.stdout, fs)
			return exitOK, false
		}
		return a.usageError(err.Error()), false
	}
	if fs.NArg() > 0 {
		return a.usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0))), false
	}
	return 0, true
}

func (a *app) commandUsage(w io.Writer, fs *flag.FlagSet) {
	for _, c := range commands() {
		if c.name == a.cmd {
			fmt.Fprintf(w, "usage: keyadmin [global flags] %s %s\n\n%s\n", c.name, c.args, c.summary)
		}
	}
	if fs == nil {
		return
	}
	var header bool
	fs.VisitAll(func(f *flag.Flag) {
		if !header {
			fmt.Fprintln(w, "\nflags:")
			header = true
		}
		fmt.Fprintf(w, "  -%-20s %s", f.Name, f.Usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// usageError reports a usage error of the current command.
func (a *app) usageError(msg string) int {
	fmt.Fprintf(a.stderr, "keyadmin %s: %s\n", a.cmd, msg)
	fmt.Fprintf(a.stderr, "run 'keyadmin %s -h' for usage\n", a.cmd)
	return exitUsage
}

// storeDir returns the key store directory, or "" after a usage error.
func (a *app) storeDir() string {
	if a.dir == "" {
		a.dir = a.env("WSRENEW_KEYSTORE")
	}
	return a.dir
}

// password returns the store's password source. It reads the variable
// through a.env rather than keystore.PasswordEnv, so that tests can set it.
func (a *app) password() (keystore.PasswordSource, string) {
	switch {
	case a.passwordEnv != "" && a.passwordFile != "":
		return keystore.PasswordSource{}, "give either -password-env or -password-file, not both"
	case a.passwordEnv != "":
		v := a.env(a.passwordEnv)
		if v == "" {
			return keystore.PasswordSource{}, fmt.Sprintf("no password: environment variable %s is unset or empty", a.passwordEnv)
		}
		return keystore.PasswordValue(v), ""
	case a.passwordFile != "":
		return keystore.PasswordFile(a.passwordFile), ""
	}
	return keystore.PasswordSource{}, "no store password: give -password-env NAME or -password-file PATH (there is no default)"
}

// open opens the key store and builds the Manager. It returns false and
// the exit code if that failed.
func (a *app) open() (int, bool) {
	if a.storeDir() == "" {
		return a.usageError("no key store: give -dir DIR or set WSRENEW_KEYSTORE"), false
	}
	pw, msg := a.password()
	if msg != "" {
		return a.usageError(msg), false
	}
	s, err := keystore.Open(a.ctx, keystore.Dir(a.dir), pw, a.storeOptions())
	if err == nil && !a.simulate.IsZero() {
		return a.openCopy(s, pw)
	}
	if err != nil {
		if errors.Is(err, keystore.ErrNotExist) {
			if a.survivors(pw) {
				return exitFailure, false
			}
			fmt.Fprintf(a.stderr, "keyadmin %s: no key store in %s; create one with 'keyadmin init'\n", a.cmd, a.dir)
			return exitFailure, false
		}
		return a.fail(err), false
	}
	return a.manage(s)
}

// openCopy records in the audit trail of the store s that a simulation
// runs, copies the store to a temporary directory and opens the copy with
// the simulated clock, so that nothing the command does reaches s.
func (a *app) openCopy(s *keystore.Store, pw keystore.PasswordSource) (int, bool) {
	if code, ok := a.manage(s); !ok {
		return code, false
	}
	note := fmt.Sprintf("simulation of 'keyadmin %s' at %s on a copy; the store was not changed", a.cmd, stamp(a.simulate))
	if err := a.m.Note(a.ctx, note); err != nil {
		return a.fail(err), false
	}
	tmp, err := os.MkdirTemp("", "keyadmin-simulation-")
	if err != nil {
		return a.fail(err), false
	}
	a.simDir = tmp
	copyDir := filepath.Join(tmp, "keys")
	if err := os.CopyFS(copyDir, os.DirFS(a.dir)); err != nil {
		return a.fail(err), false
	}
	fmt.Fprintf(a.stderr, "keyadmin: SIMULATION at %s on a copy of %s; nothing is changed there\n", stamp(a.simulate), a.dir)
	at := a.simulate
	a.now = func() time.Time { return at }
	c, err := keystore.Open(a.ctx, keystore.Dir(copyDir), pw, a.storeOptions())
	if err != nil {
		return a.fail(err), false
	}
	return a.manage(c)
}

// manage builds the Manager for s.
func (a *app) manage(s *keystore.Store) (int, bool) {
	m, err := rollover.NewManager(s, rollover.Options{Policy: a.policy, Now: a.now, Logger: a.logger, Actor: a.actor})
	if err != nil {
		return a.fail(err), false
	}
	a.store, a.m = s, m
	return 0, true
}

// resume returns the stage the store holds.
func (a *app) resume() (rollover.Stage, int, bool) {
	st, err := a.m.Resume(a.ctx)
	if err != nil {
		return nil, a.fail(err), false
	}
	return st, 0, true
}

// printf writes a line of output.
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// quote returns s quoted if it holds anything but plain printable text,
// so that text the store keeps from other people cannot rewrite the
// terminal.
func quote(s string) string {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == '"' {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

// list joins IDs for a message.
func list(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = quote(id)
	}
	return strings.Join(q, ", ")
}
