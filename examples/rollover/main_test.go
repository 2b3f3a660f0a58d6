package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsrenew/wsrenew/examples/rollover/etcdbackend"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdbackendSupport is the etcd support, which the tests use whatever
// the build tags, so that the etcd mode of the demo runs in go test
// ./... too.
func etcdbackendSupport() *etcdSupport {
	return &etcdSupport{open: etcdbackend.Open, embed: etcdbackend.Embed, purge: etcdbackend.Purge}
}

// TestMain lets the test binary play the demo's other processes: the
// demo starts its own executable again with a role in the environment.
func TestMain(m *testing.M) {
	if ok, err := dispatchRole(etcdbackendSupport()); ok {
		if err != nil {
			fmt.Fprintln(os.Stderr, "rollover:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRun runs the demo briefly: every step happens in its own process,
// a replica is killed and started again while step 3 waits for it,
// messages for both keys decrypt in every replica, none fails, and the
// last line is the summary.
func TestRun(t *testing.T) {
	testRun(t, config{bits: 2048, rate: 300, duration: 1600 * time.Millisecond, replicas: 3, clients: 2})
}

// TestRun_etcd runs the demo on an etcd server it starts itself, with
// every replica and operator process a client of it.
func TestRun_etcd(t *testing.T) {
	out := testRun(t, config{etcd: "embed", support: etcdbackendSupport(), bits: 2048, rate: 300, duration: 1600 * time.Millisecond, replicas: 3, clients: 2})
	if !strings.Contains(out, "key store in etcd http://127.0.0.1:") {
		t.Errorf("output does not name the etcd store:\n%s", out)
	}
}

// testRun runs the demo with c, checks its output and returns it.
func testRun(t *testing.T, c config) string {
	t.Helper()
	var out bytes.Buffer
	code, err := run(context.Background(), &out, c)
	if code != 0 || err != nil {
		t.Fatalf("run() = %d, %v\n%s", code, err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, want := range []string{"step 1", "replica-3 killed (SIGKILL)", "step 2", "replica-3 started again", "step 3", "step 4", "step 5", "step 6", "removal refused after 89 days", "removed tenant-2025"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), "waited for [replica-3]") {
		// Only when starting the step took longer than the holder's lease.
		t.Logf("step 3 did not wait for the killed replica:\n%s", out.String())
	}
	m := regexp.MustCompile(`^requests: (\d+) old-key: (\d+) new-key: (\d+) failed: 0$`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line = %q, want the summary", lines[len(lines)-1])
	}
	total, _ := strconv.Atoi(m[1])
	old, _ := strconv.Atoi(m[2])
	nw, _ := strconv.Atoi(m[3])
	if old < 20 || nw == 0 || old+nw != total {
		t.Errorf("summary %q: want at least the 20 queued old-key responses, some new-key ones, and all decrypted", lines[len(lines)-1])
	}
	return out.String()
}

func TestRun_badFlags(t *testing.T) {
	for _, c := range []config{
		{bits: 2048, replicas: 3, clients: 0, duration: time.Second},
		{bits: 2048, replicas: 0, clients: 1, duration: time.Second},
		{bits: 2048, replicas: 3, clients: 1, duration: time.Second, etcd: "embed", dir: "keys", support: etcdbackendSupport()},
	} {
		if code, err := run(context.Background(), &bytes.Buffer{}, c); code != 2 || err == nil {
			t.Errorf("run(%+v) = %d, %v; want 2 and an error", c, code, err)
		}
	}
	// Without the etcd support, -etcd says how to get it.
	c := config{bits: 2048, replicas: 3, clients: 1, duration: time.Second, etcd: "embed"}
	if code, err := run(context.Background(), &bytes.Buffer{}, c); code != 2 || !errors.Is(err, errNoEtcd) {
		t.Errorf("run(-etcd embed) without the support = %d, %v; want 2 and %v", code, err, errNoEtcd)
	}
}

// TestRun_etcdEndpoints runs the demo on the endpoints of a running
// cluster, under a fresh prefix that it deletes at the end.
func TestRun_etcdEndpoints(t *testing.T) {
	ep, stop, err := etcdbackend.Embed(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	out := testRun(t, config{etcd: ep, support: etcdbackendSupport(), bits: 2048, rate: 300, duration: 1600 * time.Millisecond, replicas: 3, clients: 1})
	if !strings.Contains(out, "key store in etcd "+ep+" under /wsrenew/rollover-demo/") {
		t.Errorf("output does not name the etcd store:\n%s", out)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(context.Background(), "/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 0 {
		t.Errorf("keys left on etcd = %v, %v; want none", resp, err)
	}
}
