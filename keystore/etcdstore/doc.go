// Package etcdstore keeps a key store ([keystore.Store]) in an etcd v3
// cluster, so that a fleet of processes on several machines shares one
// store and follows its changes.
//
// [New] returns a [Backend] for a key prefix; pass it to [keystore.Create]
// and [keystore.Open] in place of a [keystore.Dir]:
//
//	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tlsConfig})
//	if err != nil { ... }
//	defer cli.Close()
//	b, err := etcdstore.New(cli, "/wsrenew/partner-a")
//	if err != nil { ... }
//	store, err := keystore.Open(ctx, b, keystore.PasswordEnv("APP_KEYSTORE_PASSWORD"), keystore.Options{})
//
// The keys under the prefix:
//
//	<prefix>/blobs/manifest.json   the store's manifest
//	<prefix>/blobs/<name>          one PKCS#12 blob per key entry
//	<prefix>/records/<kind>/<id>   holder and usage records, one per process
//	<prefix>/lock/…                the writer lock of [keystore.Create]
//
// Every change of the store is one etcd transaction conditioned on the
// revision of the manifest that the writer read ([Backend.Commit]): the
// new key blobs, the removal of blobs no longer named and the manifest
// commit together or not at all, and a writer that lost a race (or was
// paused for any time while another wrote) writes nothing and gets
// [keystore.ErrConflict]; [keystore.Store.Update] then reads again and
// retries. A watch on the manifest ([Backend.Watch]) tells followers
// about changes; records of processes carry etcd leases
// ([Backend.PutRecord]), so that a process that dies stops being listed.
//
// A running application follows the store with [keystore.Follow] on a
// Backend: the watch brings each commit within milliseconds, the holder
// record is leased with the follower's HolderTTL, and
// [keystore.Follower.Ready] reports when the process is cut off from the
// cluster (then its lease lapses and renewals stop waiting for it).
// Write operations of [keystore.Create] are conditioned too: it writes
// the first manifest only if none exists, whatever the lock did.
//
// The package does not create, configure or own the etcd client: TLS,
// authentication, endpoints and timeouts are the client's.
//
// # Security
//
// The key blobs are PKCS#12 files encrypted with the store's password,
// as in a directory store; the manifest holds certificates and
// fingerprints, the records hosts, process ids and fingerprints, none of
// them secret. Anyone who can write under the prefix can still delete
// keys or roll the store back and so stop decryption, and anyone who can
// read it can try to guess the password offline: use TLS to the cluster,
// etcd authentication with a role limited to the prefix, a strong store
// password, and encryption at rest for etcd's data directory.
//
// # Concurrency
//
// A [Backend] is safe for concurrent use, also by many processes and
// machines on the same prefix. Writers do not rely on the lease-based
// lock, which can lapse under a paused process, but on the conditioned
// commit. [Backend.Watch] runs one goroutine until its context ends or
// the watch fails; [Backend.Lock] runs the lease keep-alive of its lock
// until the lock is released. Nothing else runs in the background.
//
// # Compatibility
//
// The package uses go.etcd.io/etcd/client/v3 v3.6 and supports etcd
// servers 3.6 and later, the versions upstream supports. Older servers
// (such as the 3.4 of Debian 12) are out of upstream support and are not
// tested. Importing this package compiles the etcd client and gRPC into a
// program; programs that import only wssec, keystore or rollover do not
// get them.
package etcdstore
