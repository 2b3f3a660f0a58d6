// Package keystore keeps the keys that decrypt WS-Security responses on
// disk, with their ring state, and hands a [wssec.KeyRing] built from them
// to the decryptor.
//
// A store is a directory ([Dir]): one PKCS#12 file per key entry, all
// encrypted with one password, and a JSON manifest that holds the ring
// state — which entry is current, which are retained and until when, which
// are pending — together with creation times, certificate fingerprints,
// labels, and named state blobs that callers (the rollover package) keep
// beside the keys. Every change is a transaction ([Store.Update]) that is
// written atomically and durably; a crash at any moment leaves the old or
// the new state.
//
// The package imports keys from PKCS#12 files ([ParsePKCS12]) and PEM
// ([ParsePEM]), generates keys with self-signed certificates and
// certificate requests ([Generate], then [Tx.Add];
// [Store.CertificateRequest]), and exports certificates
// ([Store.ExportCertificate]) and whole entries ([Store.ExportPKCS12]). It
// knows the rules of the key ring (one current key; a retained key is
// removed only after its expiry) but not the renewal procedure, which is
// the rollover package's.
//
// The happy path for a running application, which follows the store so
// that a key the operator adds decrypts at once ([Follow]):
//
//	f, err := keystore.Follow(ctx, keystore.Dir("/var/lib/app/keys"),
//		keystore.PasswordEnv("APP_KEYSTORE_PASSWORD"), keystore.FollowOptions{})
//	if err != nil { ... }
//	defer f.Close()
//	dec := &wssec.Decryptor{Keys: f.KeyRing()}
//
// # Entries
//
// Each entry has an alias (ASCII letters, digits, '.', '_', '-'; up to 64
// characters, starting with a letter or digit) and a [Status]:
//
//   - pending: stored, not in the ring — a new key, perhaps waiting for its
//     CA-signed certificate ([Tx.SetCertificate]). Its certificate cannot
//     be exported for a receiver.
//   - current: the one key receivers are told to encrypt to ([Tx.Rotate]).
//   - retained: in the ring to decrypt what receivers still encrypt to it,
//     with an expiry set once every receiver has switched
//     ([Tx.Retain]); removal before the expiry, or while there is none,
//     is refused with a [*wssec.KeyError] for [wssec.ErrRetentionNotElapsed].
//   - disabled: a retained key past its expiry, taken out of the ring for
//     a restore window ([Tx.Disable], [DefaultRestoreWindow]). A message
//     encrypted to it is refused; [Store.CheckRefusal] recognises the
//     refusal as evidence that removal was early, and [Tx.Retain] puts
//     the key back as retained. The first [Store.Update] after the window
//     (and a [Follower]'s tick) destroys it, never before
//     its retention ended, and records the destruction in the same commit
//     ([Store.Destructions]) until a caller moves the record to its audit
//     trail ([Tx.TakeDestructions]; package rollover does, on its next
//     change).
//
// # Retention is the store's rule
//
// The store enforces the retention of a key that a receiver may use
// itself, whatever its caller does. An entry records when its certificate
// was handed out ([Entry.Provided]: set by [Tx.MarkProvided], and for a
// key that was current when another became current) and the latest expiry
// it ever had ([Entry.RetainUntil]). An expiry only moves later; a
// provided key gets an expiry no sooner than [MinRetention] (90 days)
// after the change; removal before the expiry is refused; and only a
// pending or current key never provided can be removed at once
// ([Tx.Remove]). A
// change whose clock is behind the latest time the store recorded is
// refused ([ErrClockBehind]), so a clock set back cannot end a retention
// early. The tests try each of these with a transaction of their own.
//
// # On-disk format
//
// The directory holds, all with mode 0600 in a directory of mode 0700:
//
//	manifest.json       the ring state (below)
//	ALIAS.GEN.p12       one PKCS#12 file per entry, written in generation GEN
//	.lock               the writer lock (flock), empty
//	holders/ID          a follower's holder record (JSON), while it runs
//	usage/ID            a follower's usage evidence (JSON), kept after it stops
//	.tmp-*              files being written; removed by the next writer
//
// The manifest is a JSON object:
//
//	{
//	  "version": 1,                       // format version
//	  "generation": 7,                    // grows by one per committed change
//	  "updated": "2026-01-02T03:04:05Z",
//	  "passwordCheck": {"salt": "…", "iterations": 100000, "sha256": "…"},
//	                                      // PBKDF2-HMAC-SHA-256 of the password: tells a
//	                                      // damaged key file from a wrong password
//	  "floors": true,                     // provided/retainUntil are recorded; absent:
//	                                      // every current and retained key counts as provided
//	  "entries": [{
//	    "alias": "tenant-2026",
//	    "status": "current",              // "pending", "current", "retained" or "disabled"
//	    "created": "2026-01-02T03:04:05Z",
//	    "expires": "2026-06-01T00:00:00Z",// retained keys only; absent: no expiry yet
//	    "provided": "2026-01-03T00:00:00Z",// when first handed to a receiver; absent: never
//	    "retainUntil": "2026-06-01T00:00:00Z",// the latest expiry it ever had
//	    "disabledAt": "2026-06-02T00:00:00Z",// disabled keys only: out of the ring since
//	    "destroyAfter": "2026-06-09T00:00:00Z",// disabled keys only: end of the restore window
//	    "location": "blob:tenant-2026.7.p12",
//	    "sha256": "…", "sha1": "…",       // certificate fingerprints, lower-case hex
//	    "certificate": "MII…",            // base64 DER
//	    "chain": ["MII…"],                // optional, base64 DER
//	    "labels": {"ticket": "OPS-1"}     // optional
//	  }],
//	  "state": {"rollover": {…}}          // optional: callers' JSON blobs by name
//	}
//
// One state blob is the store's own: "keystore-destroyed" records the
// disabled keys the store destroyed until a caller takes the records:
//
//	{"version": 1, "records": [{"time": "…", "alias": "tenant-2025",
//	  "sha256": "…", "disabledAt": "…", "destroyAfter": "…"}],
//	 "dropped": 0}                        // records dropped beyond the latest 1000
//
// The location names where the key lives; "blob:" is a file of the store,
// "pkcs11:" a key in a PKCS#11 token, by its canonical RFC 7512 URI with
// the module path ([TokenURI]), so readers must not assume a file. A new
// generation writes a key to a new file name, so a
// file named by a committed manifest is never overwritten.
//
// The PKCS#12 files are written with go-pkcs12's modern encoder (PBES2
// with AES-256-CBC and PBKDF2-HMAC-SHA-256, HMAC-SHA-256 MAC) and can be
// opened with openssl pkcs12 or keytool and the store's password.
//
// # Keys in hardware
//
// An entry's key may live in a PKCS#11 token (an HSM, or SoftHSM2):
// [GenerateTokenCredential] creates the key pair inside the token and
// [OpenTokenCredential] adopts one that is there; either Credential goes
// to [Tx.Add] or rollover's step 1. This package has no PKCS#11 code: the store uses
// the [TokenModule] in [Options.Tokens], which package keystore/pkcs11
// provides (keystore.Options{Tokens: pkcs11.Module{}}), so that programs
// without tokens compile neither cgo nor a PKCS#11 wrapper. Without a
// module, token entries fail with [ErrTokenUnavailable]. The store keeps
// the certificate and the key's URI; the key never leaves the token. The
// store's password is the token's user PIN. When a token key is opened,
// the store finds out with known-answer tests of its own which key
// transports the token performs (SoftHSM2 2.6: RSA-OAEP with SHA-1 only,
// no label, PKCS#1 v1.5 without implicit rejection); the key then refuses
// the rest as a [wssec.CapableDecrypter], and [Store.CheckTransport] asks
// it about a receiver's key transport. Package keystore/pkcs11
// uses crypto11 and needs cgo; built without cgo, its module fails with
// [ErrTokenUnavailable]. A store keeps one session per token key open for
// as long as the process runs.
//
// # Storage
//
// A [Store] keeps its files through a [Backend]: read and write named
// blobs atomically, list and remove them, take the writer lock. [Dir] is
// the directory backend; a backend on a distributed engine (so that the
// replicas of a service share one store) implements the same small
// interface without changes to the Store or its callers. Optional
// interfaces add what such engines offer: [VersionedBackend] (commits
// conditioned on the version read, instead of a lock that may lapse),
// [Watcher] (change notifications) and [RecordBackend] (per-process
// records of holders and usage).
//
// # Following and holders
//
// [Follow] keeps a running process's ring in line with the store: it
// reloads on every notification ([Watcher]; inotify for a directory on
// Linux) and on a poll every second, keeps the last good ring while the
// store is unreadable, and reports errors. Each follower registers as a
// [Holder] (files under holders/ of the directory, with a heartbeat):
// its ID, host, process ID, the generation and keys it has loaded, and a
// self-test of each key in its own process. The rollover package hands a
// new certificate to receivers only once every live holder holds the new
// key. Followers also write which keys decrypted messages and when
// (files under usage/, at most once per UsageInterval), which the
// rollover package reads before it removes an old key ([Store.Usage]).
//
// # Security
//
// The password has no default: it comes from a value, an environment
// variable or a file ([PasswordSource]), and is never printed or put into
// an error. The PKCS#12 key derivation uses 2048 iterations, which does
// not stop guessing a weak password: use a random one, such as the output
// of openssl rand -hex 16, and keep the directory's permissions. The
// store refuses RSA keys under 2048 bits, except a key in use that a
// renewal moves away from, with [Options.AllowWeakRetainedKey]; such a key
// never becomes current beside another key. Imports bound the input size
// (1 MiB) and the key-derivation work a file may ask for.
//
// A receiver must not be told to encrypt to a key before the key is in the
// ring: [Store.ExportCertificate] refuses pending entries.
//
// # Concurrency
//
// A [Store] is safe for concurrent use. Several Stores, in one process or
// several, may share a directory: a writer holds an exclusive flock(2) on
// the lock file for the duration of [Store.Update]; readers ([Open],
// [Store.Reload] and the accessors) never lock and never wait. The key
// ring is one read-only [wssec.KeyRing] per Store, changed in place only
// by the Store (see [Store.KeyRing]), so decryption never waits for a
// change either. A [Follower] runs one goroutine until its Close.
//
// # Crash safety
//
// Files are written to a temporary file, synced, renamed into place, and
// the directory is synced. A commit writes the new key files first and
// the manifest last, and removes files that no manifest names only after
// that; so every manifest on disk names only existing files. The package's
// tests kill a writing child process with SIGKILL at random moments and
// check, after each kill, that the store opens and holds exactly the state
// before or after the interrupted change. go test runs 20 kills; set
// WSRENEW_CRASH=full for 250, or WSRENEW_CRASH to a number of kills:
//
//	WSRENEW_CRASH=full go test -run TestStore_crash ./keystore/
//
// A kill leaves the operating system's page cache intact, so it does not
// show whether the syncs are in the right places. The power-loss test
// does: it runs the directory backend on a simulated disk that forgets
// whatever was not synced, cuts the power before every write and sync of
// every step of a decryption-key renewal (both cancellations, adoption,
// usage recording, a withdrawn confirmation, removal) and of a partner's
// certificate renewal, and checks after each cut that the store opens,
// holds the state before or after the step (no key lost, the stage
// matching the keys), that the old key's expiry is the procedure's, that
// the ring decrypts with every key it holds, and that the next change
// succeeds and cleans up. go test cuts about 160 times; with
// WSRENEW_POWERLOSS=full it also keeps all or a random part of what was
// not synced, over 1100 cuts:
//
//	WSRENEW_POWERLOSS=full go test -run TestStore_powerLoss ./keystore/
//
// Storage faults are named: a full file system matches [ErrNoSpace], one
// that cannot be written [ErrReadOnly], and an error after the new
// manifest is in place (a failed directory sync) [ErrOutcomeUnknown], in
// which case the change is visible but may not survive a power loss.
package keystore
