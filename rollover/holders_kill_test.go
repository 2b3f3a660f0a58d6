package rollover_test

import (
	"bufio"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/testpki"
	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/rollover"
)

// holderChildEnv names the store directory of TestHolderChild, and
// holderClockEnv the time its clock stands at.
const (
	holderChildEnv = "WSRENEW_HOLDER_CHILD"
	holderClockEnv = "WSRENEW_HOLDER_CLOCK"
)

// startHolder starts a replica as a separate process that follows the
// env's store with its clock at at, and waits until it is registered.
func (e *env) startHolder(at time.Time) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHolderChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), holderChildEnv+"="+e.dir, holderClockEnv+"="+at.Format(time.RFC3339Nano))
	out, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "registered" {
		e.t.Fatalf("holder child said %q, %v", line, err)
	}
	return cmd
}

// TestProvideCertificate_holderKilled kills a replica process with
// SIGKILL mid-renewal: step 3 waits until its lease expires, and a
// restarted replica that holds the new key does not keep it waiting.
func TestProvideCertificate_holderKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, rollover.Options{})
	idle := as[*rollover.Idle](t, e.resume())
	created := must(idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: fixture(testpki.New)}))(t)

	killed := e.startHolder(e.clock.Now())
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed.Wait()
	added := must(created.AddToKeyStore(ctx))(t)
	h := rollover.Handoff{Receivers: receivers("partner-a")}

	// The killed replica's record stays until its lease expires.
	_, err := added.ProvideCertificate(ctx, h)
	var he *rollover.HoldersError
	if !errors.As(err, &he) || len(he.Laggards) != 1 || he.Laggards[0].PID != killed.Process.Pid {
		t.Fatalf("ProvideCertificate() error = %v, want the killed replica (pid %d) lagging", err, killed.Process.Pid)
	}

	// The replica restarts and loads the new key; the dead record expires.
	e.clock.Advance(31 * time.Second)
	e.startHolder(e.clock.Now())
	hs := must(e.store.Holders(ctx))(t)
	if len(hs) != 1 || !slices.Contains(hs[0].Keys, fingerprint(testpki.New)) {
		t.Fatalf("Holders() = %+v, want the restarted replica holding the new key", hs)
	}
	must(added.ProvideCertificate(ctx, h))(t)
}

// TestHolderChild is the replica process of
// TestProvideCertificate_holderKilled: it follows the store, says
// "registered" and runs until it is killed.
func TestHolderChild(t *testing.T) {
	dir := os.Getenv(holderChildEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestProvideCertificate_holderKilled")
	}
	at, err := time.Parse(time.RFC3339Nano, os.Getenv(holderClockEnv))
	if err != nil {
		t.Fatal(err)
	}
	_, err = keystore.Follow(ctx, keystore.Dir(dir), keystore.PasswordValue(testPassword), keystore.FollowOptions{
		Store:  keystore.Options{Now: func() time.Time { return at }},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("registered\n")
	select {}
}
