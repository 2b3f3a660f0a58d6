// Package etcdtest starts real etcd servers inside the test process
// (go.etcd.io/etcd/server/v3/embed), so that tests of the etcd backend
// need no manual setup: a single member for most tests, several members
// for fault tests. Each member gets its own temporary directory and free
// loopback ports, fast election settings and no log output.
//
// It is imported by _test.go files only, so that the etcd server is never
// compiled into a user's binary.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// readyTimeout bounds how long a cluster may take to elect a leader.
const readyTimeout = 60 * time.Second

// Cluster is a running etcd cluster of one or more members. Its methods
// are safe for concurrent use.
type Cluster struct {
	members []*Member
}

// Member is one etcd server of a [Cluster].
type Member struct {
	name       string
	dir        string
	clientURL  url.URL
	peerURL    url.URL
	initial    string
	tickMs     uint
	electionMs uint

	mu   sync.Mutex
	etcd *embed.Etcd // nil while stopped
}

// Start starts a cluster of n members and waits until it has a leader. The
// cluster is stopped when the test ends. A single member uses a 10 ms
// heartbeat; a cluster of several members a slower one, so that a busy
// machine does not cause spurious elections.
func Start(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c, err := Launch(n, tb.TempDir())
	if err != nil {
		tb.Fatalf("etcdtest: %v", err)
	}
	tb.Cleanup(c.Close)
	return c
}

// Launch starts a cluster of n members with their data in subdirectories
// of dir, for programs and examples that have no testing.TB; Close stops
// it. Ports are chosen free just before the start; if another process
// takes one meanwhile, Launch starts again on other ports.
func Launch(n int, dir string) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("need at least one member, not %d", n)
	}
	var err error
	for attempt := range launchAttempts {
		var c *Cluster
		c, err = launch(n, filepath.Join(dir, fmt.Sprintf("try%d", attempt)))
		if err == nil {
			return c, nil
		}
		if !addrInUse(err) {
			break
		}
	}
	return nil, err
}

// launchAttempts bounds how often Launch tries other ports.
const launchAttempts = 5

func launch(n int, dir string) (*Cluster, error) {
	c := &Cluster{}
	tick, election := uint(10), uint(100)
	if n > 1 {
		tick, election = 20, 300
	}
	var initial []string
	for i := range n {
		m := &Member{
			name:       fmt.Sprintf("m%d", i),
			dir:        filepath.Join(dir, fmt.Sprintf("m%d", i)),
			tickMs:     tick,
			electionMs: election,
		}
		var err error
		if m.clientURL, err = freeURL(); err != nil {
			return nil, err
		}
		if m.peerURL, err = freeURL(); err != nil {
			return nil, err
		}
		initial = append(initial, m.name+"="+m.peerURL.String())
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		m.initial = strings.Join(initial, ",")
	}
	// Members of a new cluster wait for each other, so they start
	// concurrently.
	errs := make(chan error, n)
	abort := make(chan struct{})
	for _, m := range c.members {
		go func() { errs <- m.start(embed.ClusterStateFlagNew, abort) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
			close(abort) // the others would wait for this member in vain
		}
	}
	if first != nil {
		c.Close()
		return nil, first
	}
	return c, nil
}

// Close stops every member.
func (c *Cluster) Close() {
	for _, m := range c.members {
		m.stop()
	}
}

// Endpoints returns the client URLs of the members, running or not.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.members {
		eps = append(eps, m.clientURL.String())
	}
	return eps
}

// Member returns member i.
func (c *Cluster) Member(i int) *Member { return c.members[i] }

// Client returns a client connected to every member, closed when the test
// ends.
func (c *Cluster) Client(tb testing.TB) *clientv3.Client {
	tb.Helper()
	return NewClient(tb, c.Endpoints())
}

// NewClient returns a client of the endpoints, without logging, closed
// when the test ends.
func NewClient(tb testing.TB, endpoints []string) *clientv3.Client {
	tb.Helper()
	cli, err := Dial(endpoints)
	if err != nil {
		tb.Fatalf("etcdtest: client: %v", err)
	}
	tb.Cleanup(func() { cli.Close() })
	return cli
}

// Dial returns a client of the endpoints, without logging.
func Dial(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
}

// Stop stops member i; its data stays for [Cluster.Restart].
func (c *Cluster) Stop(i int) { c.members[i].stop() }

// Restart starts the stopped member i again with its data.
func (c *Cluster) Restart(i int) error {
	if err := c.members[i].start(embed.ClusterStateFlagExisting, nil); err != nil {
		return fmt.Errorf("etcdtest: restart: %w", err)
	}
	return nil
}

// ClientURL returns the member's client URL.
func (m *Member) ClientURL() string { return m.clientURL.String() }

// start starts the member and waits until the cluster has a leader, the
// member fails, or abort is closed (another member failed to start).
func (m *Member) start(state string, abort <-chan struct{}) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd != nil {
		return nil
	}
	e, err := embed.StartEtcd(m.config(state))
	if err != nil {
		return fmt.Errorf("start %s: %w", m.name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		m.etcd = e
		return nil
	case err = <-e.Err():
		e.Close()
		return fmt.Errorf("start %s: %w", m.name, err)
	case <-abort:
		e.Close()
		return fmt.Errorf("start %s: aborted", m.name)
	case <-time.After(readyTimeout):
		e.Close()
		return fmt.Errorf("start %s: no leader after %v", m.name, readyTimeout)
	}
}

// addrInUse reports whether err says that a port was taken.
func addrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

func (m *Member) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd != nil {
		m.etcd.Close()
		m.etcd = nil
	}
}

func (m *Member) config(state string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenClientUrls = []url.URL{m.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{m.clientURL}
	cfg.ListenPeerUrls = []url.URL{m.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{m.peerURL}
	cfg.InitialCluster = m.initial
	cfg.InitialClusterToken = "wsrenew-test"
	cfg.ClusterState = state
	cfg.TickMs = m.tickMs
	cfg.ElectionMs = m.electionMs
	cfg.EnableGRPCGateway = false
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Tests throw the data away; fsync would only slow them down.
	cfg.UnsafeNoFsync = true
	return cfg
}

// freeURL returns an http URL on a loopback port that was free a moment
// ago.
func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}

// Compact compacts the key-value history up to the current revision, so
// that watches from an older revision fail.
func Compact(ctx context.Context, cli *clientv3.Client) (int64, error) {
	resp, err := cli.Get(ctx, "compact-probe")
	if err != nil {
		return 0, err
	}
	rev := resp.Header.Revision
	_, err = cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
	return rev, err
}
