//go:build etcd

package main

import "github.com/wsrenew/wsrenew/examples/rollover/etcdbackend"

// builtinEtcd returns the etcd support built into this binary.
func builtinEtcd() *etcdSupport {
	return &etcdSupport{open: etcdbackend.Open, embed: etcdbackend.Embed, purge: etcdbackend.Purge}
}
