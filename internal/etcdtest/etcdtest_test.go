package etcdtest

import (
	"context"
	"net"
	"net/url"
	"testing"
)

func TestStart_single(t *testing.T) {
	t.Parallel()
	c := Start(t, 1)
	cli := c.Client(t)
	ctx := t.Context()
	if _, err := cli.Put(ctx, "k", "v"); err != nil {
		t.Fatalf("Put error = %v", err)
	}
	resp, err := cli.Get(ctx, "k")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
		t.Fatalf("Get = %v, %v; want k=v", resp, err)
	}
	if _, err := Compact(ctx, cli); err != nil {
		t.Errorf("Compact error = %v", err)
	}
}

func TestStart_stopRestart(t *testing.T) {
	t.Parallel()
	c := Start(t, 3)
	cli := c.Client(t)
	c.Stop(1)
	if _, err := cli.Put(context.Background(), "k", "v"); err != nil {
		t.Fatalf("Put with one of three members stopped: %v", err)
	}
	if err := c.Restart(1); err != nil {
		t.Fatal(err)
	}
	one := NewClient(t, []string{c.Member(1).ClientURL()})
	resp, err := one.Get(t.Context(), "k")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("Get from restarted member = %v, %v; want k", resp, err)
	}
}

// A port taken between its choice and the start makes Launch try other
// ports.
func TestMember_portTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m := &Member{
		name:       "m0",
		dir:        t.TempDir(),
		clientURL:  url.URL{Scheme: "http", Host: l.Addr().String()},
		tickMs:     10,
		electionMs: 100,
	}
	m.peerURL, err = freeURL()
	if err != nil {
		t.Fatal(err)
	}
	m.initial = "m0=" + m.peerURL.String()
	err = m.start("new", nil)
	if err == nil {
		m.stop()
		t.Fatal("start on a taken port succeeded")
	}
	if !addrInUse(err) {
		t.Errorf("start on a taken port error = %v, want one addrInUse recognizes", err)
	}
}
