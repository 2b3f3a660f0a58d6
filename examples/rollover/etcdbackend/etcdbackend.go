// Package etcdbackend is the rollover demo's etcd support: a key store
// backend on the endpoints of an etcd cluster, and an etcd server the
// demo starts in its own process when there is no cluster at hand.
//
// The demo's main package imports it only when built with the tag etcd,
// so that the default build compiles neither the etcd client nor the
// server; its tests import it always.
package etcdbackend

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/keystore/etcdstore"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Open returns the backend of the key store under prefix on the cluster
// at endpoints, and the function that closes its client.
func Open(endpoints []string, prefix string) (keystore.Backend, func(), error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, nil, fmt.Errorf("etcd client: %w", err)
	}
	b, err := etcdstore.New(cli, prefix)
	if err != nil {
		cli.Close()
		return nil, nil, err
	}
	return b, func() { cli.Close() }, nil
}

// Purge deletes every key under prefix, for a demo that leaves nothing
// behind in a real cluster.
func Purge(ctx context.Context, endpoints []string, prefix string) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close()
	_, err = cli.Delete(ctx, prefix+"/", clientv3.WithPrefix())
	return err
}

// startTimeout bounds how long the embedded server may take to start.
const startTimeout = time.Minute

// Embed starts a single-member etcd server on loopback with its data in
// dir, and returns its client endpoint and the function that stops it.
// The server keeps etcd's defaults, fsync included, except that it logs
// nothing.
func Embed(dir string) (string, func(), error) {
	client, err := freeURL()
	if err != nil {
		return "", nil, err
	}
	peer, err := freeURL()
	if err != nil {
		return "", nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "demo"
	cfg.Dir = dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("embedded etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return client.String(), e.Close, nil
	case err := <-e.Err():
		e.Close()
		return "", nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(startTimeout):
		e.Close()
		return "", nil, fmt.Errorf("embedded etcd: not ready after %v", startTimeout)
	}
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
