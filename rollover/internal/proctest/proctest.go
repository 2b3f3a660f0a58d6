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

	"github.com/google/go-cmp/cmp"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
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

// CrashStart begins a crash test: it skips in the child process (env
// set), and returns the number of kills and a random source whose seed
// it logs.
func CrashStart(t *testing.T, env string) (int, *rand.Rand) {
	t.Helper()
	if os.Getenv(env) != "" {
		t.Skip("in the child process")
	}
	kills := Kills(t)
	seed := rand.Uint64()
	t.Logf("%d kills, seed %d", kills, seed)
	return kills, rand.New(rand.NewPCG(seed, seed))
}

// Grown fails the test unless the audit trail got, read after kill,
// starts with had: a kill loses no record. It returns got.
func Grown[R any](t *testing.T, kill int, had, got []R) []R {
	t.Helper()
	if len(got) < len(had) || len(had) > 0 && !cmp.Equal(had, got[:len(had)]) {
		t.Fatalf("kill %d: audit trail lost records: had %d, has %d", kill, len(had), len(got))
	}
	return got
}

// WantErrs fails the test unless err matches each of wants.
func WantErrs(t *testing.T, err error, wants []error) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want %v", wants)
	}
	for _, want := range wants {
		if !errors.Is(err, want) {
			t.Errorf("error = %v, want %v", err, want)
		}
	}
}

// ErrorCase is a row of an error type's test: the error, its text, the
// sentinels it matches and those it does not.
type ErrorCase struct {
	Name     string
	Err      error
	WantText string
	WantIs   []error
	NotIs    []error
}

// CheckErrors runs the rows in parallel subtests.
func CheckErrors(t *testing.T, cases []ErrorCase) {
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			if got := tc.Err.Error(); got != tc.WantText {
				t.Errorf("Error() = %q\nwant      %q", got, tc.WantText)
			}
			for _, w := range tc.WantIs {
				if !errors.Is(tc.Err, w) {
					t.Errorf("errors.Is(%v) = false", w)
				}
			}
			for _, w := range tc.NotIs {
				if errors.Is(tc.Err, w) {
					t.Errorf("errors.Is(%v) = true", w)
				}
			}
		})
	}
}

// OpenChild opens the store of a crash test's child process, in the
// directory the environment variable env names, with the clock now. It
// skips the test unless it runs as that child.
func OpenChild(t *testing.T, env, password string, now func() time.Time) *keystore.Store {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		t.Skip("runs only as the child process of a crash test")
	}
	store, err := keystore.Open(context.Background(), keystore.Dir(dir), keystore.PasswordValue(password), keystore.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// As asserts that s has type T.
func As[T any](t testing.TB, s any) T {
	t.Helper()
	v, ok := s.(T)
	if !ok {
		var want T
		t.Fatalf("stage is %T, want %T", s, want)
	}
	return v
}

// WantRefusal fails the test unless err matches each of wants and
// allows the step from allowedAt: the AllowedAt of a *RemovalError
// (whose *wssec.KeyError must repeat it and the fingerprint) or of a
// *StageError, else zero. It returns the RemovalError, nil if err is
// none.
func WantRefusal(t *testing.T, err error, wants []error, allowedAt time.Time) *procedure.RemovalError {
	t.Helper()
	WantErrs(t, err, wants)
	var at time.Time
	var re *procedure.RemovalError
	var se *procedure.StageError
	switch {
	case errors.As(err, &re):
		at = re.AllowedAt
		var ke *wssec.KeyError
		if !errors.As(err, &ke) || !ke.AllowedAt.Equal(re.AllowedAt) || ke.Fingerprint != re.Fingerprint {
			t.Errorf("error does not unwrap to the matching *wssec.KeyError")
		}
	case errors.As(err, &se):
		at = se.AllowedAt
	}
	if !at.Equal(allowedAt) {
		t.Errorf("AllowedAt = %v, want %v", at, allowedAt)
	}
	return re
}
