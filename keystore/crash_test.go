package keystore

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/internal/fakeclock"
	"github.com/wsrenew/wsrenew/internal/testpki"
)

// crashChildEnv names the store directory of the writing child process;
// the child test runs only when it is set.
const crashChildEnv = "WSRENEW_KEYSTORE_CRASH_CHILD"

// crashEnv sets the number of kills: "full" for crashKillsFull, or a
// number.
const crashEnv = "WSRENEW_CRASH"

const (
	crashKillsShort = 20
	crashKillsFull  = 250
)

func crashKills(t *testing.T) int {
	switch v := os.Getenv(crashEnv); v {
	case "":
		return crashKillsShort
	case "full":
		return crashKillsFull
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want \"full\" or a positive number", crashEnv, v)
		}
		return n
	}
}

// TestStore_crash runs a child process that writes to a store in a loop
// and kills it with SIGKILL at random moments. After each kill the store
// must open (every file the manifest names exists and decrypts) and hold
// exactly the state before the interrupted change or the one after it,
// as the child announced them.
func TestStore_crash(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in the child process")
	}
	kills := crashKills(t)
	clock := fakeclock.New(t0)
	dir := filepath.Join(t.TempDir(), "store")
	s, err := Create(context.Background(), Dir(dir), PasswordValue(testPassword), Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(tx *Tx) error {
		return errors.Join(tx.Add("k0", fixture(testpki.Old), nil), tx.Rotate("k0"))
	})
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("%d kills, seed %d", kills, seed)

	var stats struct{ old, new, orphans, writes int }
	for i := range kills {
		lines := runAndKill(t, dir, rng)
		// The last committed generation the child saw, and what the
		// change after it was going to write.
		committed := map[uint64]string{}
		intended := map[uint64]string{}
		var last uint64
		for _, l := range lines {
			kind, gen, summary := l.kind, l.gen, l.summary
			switch kind {
			case "start", "done":
				committed[gen] = summary
				last = max(last, gen)
				if kind == "done" {
					stats.writes++
				}
			case "commit":
				intended[gen] = summary
			}
		}
		if last == 0 {
			t.Fatalf("kill %d: the child reported no state", i)
		}
		orphans := strayFiles(t, dir)
		st := openTestStore(t, dir, clock)
		if _, err := st.KeyRing(); err != nil {
			t.Fatalf("kill %d: KeyRing() error = %v", i, err)
		}
		got := crashSummary(st.View().Entries(), st.View().State)
		switch gen := st.View().Generation(); gen {
		case last:
			stats.old++
			if got != committed[last] {
				t.Fatalf("kill %d: store at generation %d holds\n%s\nwant the state before the write\n%s", i, gen, got, committed[last])
			}
		case last + 1:
			stats.new++
			want, ok := intended[gen]
			if !ok || got != want {
				t.Fatalf("kill %d: store at generation %d holds\n%s\nwant the announced state\n%s", i, gen, got, want)
			}
		default:
			t.Fatalf("kill %d: store at generation %d, want %d or %d", i, gen, last, last+1)
		}
		if len(orphans) > 0 {
			stats.orphans++
		}
	}
	// The next write removes whatever the kills left behind.
	st := openTestStore(t, dir, clock)
	clock.Set(crashTime(st.View().Generation()))
	mustUpdate(t, st, func(tx *Tx) error { return tx.SetState("crash", []byte(`"checked"`)) })
	if stray := strayFiles(t, dir); len(stray) > 0 {
		t.Errorf("files left after a write: %v", stray)
	}
	t.Logf("%d kills after %d completed writes: %d left the state before the write, %d the state after it; %d left files to clean up",
		kills, stats.writes, stats.old, stats.new, stats.orphans)
}

type crashLine struct {
	kind    string
	gen     uint64
	summary string
}

// runAndKill starts the child, waits for a random number of announced
// commits, lets a random amount of work pass and kills it. It returns
// every line the child wrote.
func runAndKill(t *testing.T, dir string, rng *rand.Rand) []crashLine {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStore_crashChild$", "-test.count=1")
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
	var lines []crashLine
	commits, target := 0, 1+rng.IntN(3)
	killed := false
	for {
		raw, err := r.ReadString('\n')
		if l, ok := parseCrashLine(raw); ok {
			lines = append(lines, l)
			if l.kind == "commit" {
				commits++
			}
		} else {
			stderr.WriteString(raw) // the child's test output
		}
		if !killed && commits == target {
			if spin(rng.IntN(1<<25)) == 0 {
				t.Log("spin result zero") // keeps the loop from being optimized away
			}
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
	return lines
}

func parseCrashLine(s string) (crashLine, bool) {
	kind, rest, ok := strings.Cut(strings.TrimSuffix(s, "\n"), " ")
	if !ok || !strings.HasSuffix(s, "\n") {
		return crashLine{}, false
	}
	genText, summary, _ := strings.Cut(rest, " ")
	gen, err := strconv.ParseUint(genText, 10, 64)
	if err != nil {
		return crashLine{}, false
	}
	return crashLine{kind, gen, summary}, true
}

// spin burns a little CPU time, without reading a clock or touching
// memory the race detector watches, so that kills land at scattered
// points of a write.
func spin(n int) uint64 {
	x := uint64(n)
	for range n {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

// strayFiles returns the files in dir that the manifest does not name.
func strayFiles(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseManifest(data, dir)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{manifestName: true, lockName: true}
	for _, e := range m.entries {
		name, _ := blobOfLocation(e.Location)
		named[name] = true
	}
	ents, _ := os.ReadDir(dir)
	var stray []string
	for _, e := range ents {
		if !named[e.Name()] {
			stray = append(stray, e.Name())
		}
	}
	return stray
}

// crashSummary describes a state in one line: every entry with its
// location and the crash state blob.
func crashSummary(entries []Entry, state func(string) ([]byte, error)) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "%s/%s/%d/%d/%s/%s/%v;", e.Alias, e.Status, e.Expires.Unix(), e.DestroyAfter.Unix(), e.Fingerprint.String(), e.Location, e.Labels)
	}
	v, err := state("crash")
	fmt.Fprintf(&b, "state=%s/%v", v, errors.Is(err, ErrStateNotFound))
	// A destroyed key's record is part of the commit that destroys it.
	d, _ := state(destroyedName)
	fmt.Fprintf(&b, ";destroyed=%s", d)
	return b.String()
}

// TestStore_crashChild is the writing child of TestStore_crash. It runs
// changes of every kind in a loop and announces each state on stdout,
// unbuffered: "start GEN SUMMARY" when it opened the store, "commit GEN
// SUMMARY" before it writes generation GEN, "done GEN SUMMARY" after.
func TestStore_crashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs only as the child process of TestStore_crash")
	}
	// The clock moves on with every generation, as time does between the
	// steps of a renewal, so that expiries pass.
	clock := fakeclock.New(t0)
	s := openTestStore(t, dir, clock)
	clock.Set(crashTime(s.View().Generation()))
	say := func(kind string, gen uint64, summary string) {
		os.Stdout.WriteString(kind + " " + strconv.FormatUint(gen, 10) + " " + summary + "\n")
	}
	say("start", s.View().Generation(), crashSummary(s.View().Entries(), s.View().State))
	fixtures := []string{testpki.Old, testpki.New, testpki.Stranger, testpki.Receiver, testpki.CA}
	for {
		err := s.Update(context.Background(), func(tx *Tx) error {
			if err := crashStep(tx, fixtures, clock.Now()); err != nil {
				return err
			}
			say("commit", tx.Generation()+1, crashSummary(tx.Entries(), tx.State))
			return nil
		})
		if err != nil {
			t.Fatalf("Update() error = %v", err)
		}
		clock.Set(crashTime(s.View().Generation()))
		say("done", s.View().Generation(), crashSummary(s.View().Entries(), s.View().State))
	}
}

// crashTime is the crash child's clock while the store holds generation
// gen: MinRetention and a day later per generation.
func crashTime(gen uint64) time.Time {
	// In days, not as one Duration: gen times 91 days overflows a
	// Duration (about 292 years) after some 1,170 generations, which a
	// long run under load reaches.
	days := int((MinRetention + 24*time.Hour) / (24 * time.Hour))
	return t0.AddDate(0, 0, int(gen)*days)
}

// crashStep makes the next change of the renewal cycle: put the
// CA-signed certificate onto a pending key; rotate a pending key in; give
// a retained key an expiry; restore a disabled key or leave it to be
// destroyed; remove an expired key and add a new pending one in the same
// transaction, or disable it; or add a pending key with a self-signed
// certificate.
func crashStep(tx *Tx, fixtures []string, now time.Time) error {
	gen := tx.Generation()
	state, _ := json.Marshal(map[string]uint64{"gen": gen})
	var selfSigned, signed, noExpiry, expired, disabled []string
	var keys []*rsa.PublicKey
	for _, e := range tx.Entries() {
		keys = append(keys, e.Certificate.PublicKey.(*rsa.PublicKey))
		switch {
		case e.Status == StatusPending && e.Labels["cert"] == "self":
			selfSigned = append(selfSigned, e.Alias)
		case e.Status == StatusPending:
			signed = append(signed, e.Alias)
		case e.Status == StatusRetained && e.Expires.IsZero():
			noExpiry = append(noExpiry, e.Alias)
		case e.Status == StatusRetained:
			expired = append(expired, e.Alias)
		case e.Status == StatusDisabled:
			disabled = append(disabled, e.Alias)
		}
	}
	addNext := func() error {
		i := slices.IndexFunc(fixtures, func(name string) bool {
			pub := &testpki.Load(name).Key.PublicKey
			return !slices.ContainsFunc(keys, func(k *rsa.PublicKey) bool { return pub.Equal(k) })
		})
		id := testpki.Load(fixtures[i])
		cert, err := crashSelfSigned(id.Key)
		if err != nil {
			return err
		}
		alias := "k" + strconv.FormatUint(gen, 10)
		return tx.Add(alias, &Credential{Key: id.Key, Certificate: cert}, map[string]string{"cert": "self", "fixture": id.Name})
	}
	switch {
	case len(selfSigned) > 0:
		e, _ := tx.Entry(selfSigned[0])
		return errors.Join(
			tx.SetCertificate(e.Alias, testpki.Load(e.Labels["fixture"]).Certificate, nil),
			tx.SetLabels(e.Alias, map[string]string{"cert": "ca"}),
		)
	case len(signed) > 0:
		return errors.Join(tx.Rotate(signed[0]), tx.SetState("crash", state))
	case len(noExpiry) > 0:
		return tx.Retain(noExpiry[0], now.Add(MinRetention))
	case len(disabled) > 0 && gen%2 == 0:
		// Inside its window (the transaction destroyed it otherwise).
		e, _ := tx.Entry(disabled[0])
		return tx.Retain(e.Alias, e.Expires)
	case len(disabled) > 0:
		// Left alone: the change after next destroys it.
		return tx.SetState("crash", state)
	case len(expired) > 0 && gen%4 == 0:
		return errors.Join(tx.Remove(expired[0]), addNext())
	case len(expired) > 0:
		// A window one and a half generations long.
		return tx.Disable(expired[0], (MinRetention+24*time.Hour)*3/2)
	default:
		return addNext()
	}
}

// crashSelfSigned returns a self-signed certificate for key, as a
// generated key has before its CA-signed one arrives. RSA PKCS #1 v1.5
// signatures are deterministic, so the certificate is the same every
// time.
func crashSelfSigned(key *rsa.PrivateKey) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "pending"},
		NotBefore:    t0,
		NotAfter:     t0.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
