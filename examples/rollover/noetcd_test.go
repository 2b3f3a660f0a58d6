//go:build !etcd

package main

import "testing"

// The default build has no etcd support; -etcd then fails with
// errNoEtcd (TestRun_badFlags).
func TestBuiltinEtcd_default(t *testing.T) {
	if builtinEtcd() != nil {
		t.Error("builtinEtcd() != nil without the tag etcd")
	}
}
