// Package proctest holds the test helpers of both renewal procedures'
// tests (packages rollover and rollover/signer): the crash-test harness
// that kills a child process at random moments, a log buffer, and Must.
// It is imported by _test.go files only.
package proctest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

// Must returns v, or fails the test that the returned function is given
// if err is not nil: Must(f())(t).
func Must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatalf("error = %v", err)
		}
		return v
	}
}

// crashEnv sets the number of kills, as for the keystore's crash test:
// "full" for 100, or a number.
const crashEnv = "WSRENEW_CRASH"

// Kills returns the number of kills a crash test makes: 12, or as
// WSRENEW_CRASH says.
func Kills(t *testing.T) int {
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

// RunChild runs the test binary's test named test as a child process,
// with the environment variable env set to dir; the child announces each
// step as a line "step FROM TO" on stdout. RunChild kills it with SIGKILL
// after a random number of steps and a random amount of work, and
// returns the steps it announced.
func RunChild(t *testing.T, env, test, dir string, rng *rand.Rand) [][2]string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+dir)
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

// LogBuffer collects JSON log lines; safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// LogLine is a decoded log record.
type LogLine map[string]any

// Lines returns the records logged with a message containing msg.
func (l *LogBuffer) Lines(msg string) []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LogLine
	for _, s := range strings.Split(l.buf.String(), "\n") {
		if s == "" {
			continue
		}
		var x LogLine
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			continue
		}
		if m, _ := x["msg"].(string); strings.Contains(m, msg) {
			out = append(out, x)
		}
	}
	return out
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// pollOnly is the directory backend without notifications, so that a
// test decides when a follower reads the store.
type pollOnly struct {
	keystore.Backend
	keystore.RecordBackend
}

// Replica is a follower of a store directory, as a replica of the
// application runs it, polled by hand.
type Replica struct {
	F     *keystore.Follower
	ticks chan time.Time
}

// Follow starts a replica of the store in dir, with the holder ID id,
// that registers what trusted returns (nil: nothing). It closes the
// follower when the test ends.
func Follow(t *testing.T, dir, password string, now func() time.Time, id string, trusted func(context.Context) []wssec.Fingerprint) *Replica {
	t.Helper()
	r := &Replica{ticks: make(chan time.Time)}
	d := keystore.Dir(dir)
	f, err := keystore.Follow(context.Background(), pollOnly{d, d.(keystore.RecordBackend)}, keystore.PasswordValue(password), keystore.FollowOptions{
		Store:     keystore.Options{Now: now},
		HolderID:  id,
		Host:      "host-" + id,
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return r.ticks, func() {} },
		Logger:    slog.New(slog.DiscardHandler),
		Trusted:   trusted,
	})
	if err != nil {
		t.Fatalf("Follow() error = %v", err)
	}
	r.F = f
	t.Cleanup(func() { f.Close() })
	return r
}

// Poll makes the replica read the store, and waits until it has.
func (r *Replica) Poll() {
	r.ticks <- time.Time{}
	r.ticks <- time.Time{}
}
