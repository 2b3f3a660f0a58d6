//go:build !etcd

package main

// builtinEtcd returns nil: the default build leaves the etcd client and
// server out, which would more than double its cold compile time.
func builtinEtcd() *etcdSupport { return nil }
