//go:build etcd

package main

import (
	"strings"
	"testing"
	"time"
)

// With the tag etcd, the program's own etcd support runs the demo on an
// embedded server (go test -tags etcd ./examples/rollover).
func TestRun_builtinEtcd(t *testing.T) {
	support := builtinEtcd()
	if support == nil {
		t.Fatal("builtinEtcd() = nil with the tag etcd")
	}
	out := testRun(t, config{etcd: "embed", support: support, bits: 2048, rate: 300, duration: 1600 * time.Millisecond, replicas: 3, clients: 2})
	if !strings.Contains(out, "key store in etcd") {
		t.Errorf("output does not name the etcd store:\n%s", out)
	}
}
