package main

import (
	"context"
	"errors"
	"strings"

	"github.com/wsrenew/wsrenew/keystore"
)

// errNoEtcd is the answer to -etcd in a build without the etcd support.
var errNoEtcd = errors.New("-etcd needs the etcd support, which the default build leaves out to compile fast; " +
	"run: go run -tags etcd ./examples/rollover -etcd embed (or -etcd http://host:2379,...)")

// etcdSupport opens key stores on etcd and starts an embedded etcd
// server; builtinEtcd returns it when the program is built with the tag
// etcd.
type etcdSupport struct {
	open  func(endpoints []string, prefix string) (keystore.Backend, func(), error)
	embed func(dir string) (endpoint string, stop func(), err error)
	purge func(ctx context.Context, endpoints []string, prefix string) error
}

// backendConfig names the key store every process of the demo opens:
// a directory on this host, or a key prefix on an etcd cluster.
type backendConfig struct {
	Dir        string   `json:"dir,omitempty"`
	Etcd       []string `json:"etcd,omitempty"` // client endpoints
	EtcdPrefix string   `json:"etcdPrefix,omitempty"`

	etcd *etcdSupport // set by each process from its build
}

func (c backendConfig) open(ctx context.Context) (keystore.Backend, func(), error) {
	if len(c.Etcd) == 0 {
		return keystore.Dir(c.Dir), func() {}, nil
	}
	if c.etcd == nil {
		return nil, nil, errNoEtcd
	}
	return c.etcd.open(c.Etcd, c.EtcdPrefix)
}

func (c backendConfig) String() string {
	if len(c.Etcd) > 0 {
		return "etcd " + strings.Join(c.Etcd, ",") + " under " + c.EtcdPrefix
	}
	return "directory " + c.Dir
}
