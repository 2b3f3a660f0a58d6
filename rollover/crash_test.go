package rollover_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// crashChildEnv names the store directory of the child process that takes
// the steps; the child test runs only when it is set.
const crashChildEnv = "WSRENEW_ROLLOVER_CRASH_CHILD"

// crashEnv sets the number of kills, as for the keystore's crash test:
// "full" for 100, or a number.
const crashEnv = "WSRENEW_CRASH"

func crashKills(t *testing.T) int {
	switch v := os.Getenv(crashEnv); v {
	case "":
		return 12
	case "full":
		return 100
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want \"full\" or a positive number", crashEnv, v)
		}
		return n
	}
}

// lastAction is the audit record each stage's step leaves last.
var lastAction = map[rollover.StageName]rollover.Action{
	rollover.StageKeyPairCreated:      rollover.ActionImportKeyPair,
	rollover.StageKeyAdded:            rollover.ActionAddToKeyStore,
	rollover.StageCertificateProvided: rollover.ActionProvideCertificate,
	rollover.StageReceiversSwitched:   rollover.ActionSetOldKeyExpiry,
	rollover.StageIdle:                rollover.ActionRemoveOldKey,
}

// TestProcedure_crash runs a child process that resumes the procedure and
// takes its steps in a loop, renewal after renewal, and kills it with
// SIGKILL at random moments. After each kill the store must open, the
// procedure must resume with keys and state in agreement, the audit
// trail must end with the record of the stage reached and have lost
// nothing, and the stage must be the one before or after the step the
// child was taking.
func TestProcedure_crash(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child process")
	}
	kills := crashKills(t)
	e := newEnv(t, rollover.Options{})
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("%d kills, seed %d", kills, seed)

	var history []rollover.Record
	stages := map[rollover.StageName]int{}
	for i := range kills {
		announced := runChild(t, e.dir, rng)
		e.restart()
		s, err := e.m.Resume(ctx)
		if err != nil {
			t.Fatalf("kill %d: Resume() error = %v", i, err)
		}
		stages[s.Stage()]++
		if _, err := e.store.KeyRing(); err != nil {
			t.Fatalf("kill %d: KeyRing() error = %v", i, err)
		}
		got := must(rollover.History(e.store))(t)
		if len(got) < len(history) || len(history) > 0 && !cmp.Equal(history, got[:len(history)]) {
			t.Fatalf("kill %d: audit trail lost records: had %d, has %d", i, len(history), len(got))
		}
		history = got
		if n := len(got); n > 0 && got[n-1].Action != lastAction[s.Stage()] {
			t.Fatalf("kill %d: stage %s, but the last record is %s", i, s.Stage(), got[n-1].Action)
		}
		if len(announced) > 0 {
			last := announced[len(announced)-1]
			if s.Stage() != last.from && s.Stage() != last.to {
				t.Fatalf("kill %d: stage %s, but the child was going from %s to %s", i, s.Stage(), last.from, last.to)
			}
		}
	}
	t.Logf("%d kills; stages found: %v; %d audit records", kills, stages, len(history))
}

type crashStep struct{ from, to rollover.StageName }

// runChild starts the child, kills it after a random number of steps and
// a random amount of work, and returns the steps it announced.
func runChild(t *testing.T, dir string, rng *rand.Rand) []crashStep {
	t.Helper()
	var steps []crashStep
	for _, s := range runCrashChild(t, "TestProcedure_crashChild", dir, rng) {
		steps = append(steps, crashStep{rollover.StageName(s[0]), rollover.StageName(s[1])})
	}
	return steps
}

// runCrashChild runs the child test named test as runChild describes, and
// returns the stage names of the steps it announced.
func runCrashChild(t *testing.T, test, dir string, rng *rand.Rand) [][2]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	var steps [][2]string
	target := 1 + rng.IntN(4)
	killed := false
	for {
		line, err := r.ReadString('\n')
		if from, to, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "step ")), " "); ok && strings.HasPrefix(line, "step ") {
			steps = append(steps, [2]string{from, to})
		}
		if !killed && len(steps) == target {
			burn(rng.IntN(1 << 24))
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !killed || !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before it was killed:\n%s", err, stderr.String())
	}
	return steps
}

// burn spends a little CPU time, so that kills land at scattered points
// of a step.
func burn(n int) uint64 {
	x := uint64(n)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// TestProcedure_crashChild is the child of TestProcedure_crash. It
// resumes the procedure in the store and takes step after step, a day
// apart (91 days before removing the old key), announcing on stdout
// "step FROM TO" before each step.
func TestProcedure_crashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestProcedure_crash")
	}
	clock := fakeclock.New(t0)
	store, err := keystore.Open(ctx, keystore.Dir(dir), keystore.PasswordValue(testPassword), keystore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	// Continue the clock from the last record.
	if h := must(rollover.History(store))(t); len(h) > 0 {
		clock.Set(h[len(h)-1].Time.Add(time.Hour))
	}
	m := must(rollover.NewManager(store, rollover.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler)}))(t)
	say := func(from, to rollover.StageName) {
		os.Stdout.WriteString(fmt.Sprintf("step %s %s\n", from, to))
	}
	for {
		s := must(m.Resume(ctx))(t)
		clock.Advance(day)
		switch s := s.(type) {
		case *rollover.Idle:
			next := testpki.Old
			for _, e := range store.Entries() {
				if e.Fingerprint == fingerprint(testpki.Old) {
					next = testpki.New
				}
			}
			say(s.Stage(), rollover.StageKeyPairCreated)
			must(s.ImportKeyPair(ctx, "k"+strconv.FormatUint(s.Renewal()+1, 10), fixture(next)))(t)
		case *rollover.KeyPairCreated:
			say(s.Stage(), rollover.StageKeyAdded)
			must(s.AddToKeyStore(ctx))(t)
		case *rollover.KeyAdded:
			say(s.Stage(), rollover.StageCertificateProvided)
			must(s.ProvideCertificate(ctx, rollover.Handoff{Receivers: receivers("partner-a")}))(t)
		case *rollover.CertificateProvided:
			say(s.Stage(), rollover.StageReceiversSwitched)
			must(s.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner-a"}))(t)
		case *rollover.ReceiversSwitched:
			clock.Advance(91 * day)
			say(s.Stage(), rollover.StageIdle)
			must(s.RemoveOldKey(ctx))(t)
		}
	}
}
