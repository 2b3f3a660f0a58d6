// Package rollover runs the renewal of the key pair that decrypts
// WS-Security encrypted responses, without downtime, as typed steps whose
// state is kept in the key store. The mirror procedure, in which a
// partner renews the certificate that signs its responses, is package
// rollover/signer.
//
// The procedure spans months and two organisations: the tenant (this
// program) decrypts responses, the receiver encrypts them to the tenant's
// certificate. Its seven steps, and the methods that take them:
//
//  1. Tenant: create a new key pair and certificate —
//     [Idle.CreateKeyPair], which also imports a key pair made
//     elsewhere ([KeyRequest.Credential]); a CA-signed certificate
//     replaces the self-signed one with [KeyPairCreated.AdoptCertificate].
//  2. Tenant: add it to the key store — [KeyPairCreated.AddToKeyStore].
//     The new key becomes current; the old key stays in the ring,
//     retained with no expiry, so both decrypt.
//  3. Tenant: provide the certificate to the receivers —
//     [KeyAdded.ProvideCertificate]. A self-test first encrypts a sample
//     response to the new certificate and decrypts it through the live
//     key ring, and every live holder of the store (a process following
//     it with keystore.Follow) must hold the new key with its own passed
//     self-test ([ErrHoldersNotReady] otherwise, naming the laggards);
//     then the receivers are recorded and [Bundle] holds what
//     they get: the certificate and chain as PEM and DER, fingerprints,
//     and the key identifier values their messages will carry.
//  4. Receiver: configure its system to encrypt with the new certificate.
//  5. Receiver: remove the old certificate.
//  6. Receiver: tell the tenant — [CertificateProvided.ConfirmReceiverSwitched],
//     once per receiver. After the last one the old key gets its expiry:
//     that confirmation's time plus max(GuaranteedDelivery, 90 days), or
//     plus a retention floor raised above 90 days.
//  7. Tenant: remove the old key pair — [ReceiversSwitched.RemoveOldKey],
//     refused with [wssec.ErrRetentionNotElapsed] until the expiry has
//     passed and the old key has not decrypted a response for the
//     guaranteed delivery time.
//
// Each stage is a type ([Idle], [KeyPairCreated], [KeyAdded],
// [CertificateProvided], [ReceiversSwitched]) and each step a method of the
// stage it starts from, returning the next, so the steps cannot be taken
// out of order. [Manager.Resume] returns the stage the store holds, so a
// process started months later continues where the procedure stands. A
// renewal can be cancelled before step 3 ([KeyPairCreated.Cancel],
// [KeyAdded.Cancel]), not after: a receiver may already use the new key.
// Exporting the new certificate before step 3 ([Manager.ExportCertificate])
// counts as handing it out: the renewal can then no longer be cancelled
// ([ErrCannotCancel]) and continues with step 3.
//
// The happy path, each step usually in a later run of the program:
//
//	m, err := rollover.NewManager(store, rollover.Options{Policy: rollover.Policy{GuaranteedDelivery: 7 * 24 * time.Hour}})
//	idle, err := m.Begin(ctx)
//	created, err := idle.CreateKeyPair(ctx, rollover.KeyRequest{Alias: "tenant-2027", Credential: credential})
//	added, err := created.AddToKeyStore(ctx)
//	provided, err := added.ProvideCertificate(ctx, rollover.Handoff{Receivers: []rollover.Receiver{{ID: "partner"}}})
//	bundle, err := provided.Bundle() // send to the receiver's administrator
//	next, err := provided.ConfirmReceiverSwitched(ctx, rollover.Confirmation{Receiver: "partner", Reference: "OPS-1"})
//	_, err = next.(*rollover.ReceiversSwitched).RemoveOldKey(ctx) // 90 days later
//
// # Evidence
//
// The store's key ring counts which key decrypted each response. The
// application calls [Manager.RecordUsage] after decryptions or on a timer
// it owns; at most once a minute it writes when each key was last used to
// the store, where the evidence survives restarts. The first response
// decrypted with the new key after step 3 goes into the audit trail as
// evidence that a receiver switched; responses decrypted with the old key
// after a confirmation are counted and logged as warnings. With
// [Manager.Observe] the application attributes responses to receivers;
// without it the evidence is ring-wide. Every [Report] says how many days
// the current certificate has left, and whether a renewal is due.
//
// # The partner's signing certificate
//
// Partners renew their signing keys too, with the roles swapped; package
// rollover/signer runs that procedure on the same key store, with the
// same retention rules, audit trail and typed errors, built on the same
// core as this package's steps.
//
// # Audit trail
//
// Every step appends a [Record] (time, step, actor, key or certificate
// fingerprints, receiver or partner, note) to the store in the
// transaction that takes the step, and logs it through the [log/slog]
// logger of [Options]. [History] returns the trail of both procedures
// (this one and rollover/signer's, whose records name the partner).
//
// The log records are meant for log pipelines and alerting; their message
// and attribute keys are stable:
//
//   - message "rollover: " + the [Action] (such as "rollover:
//     confirm-receiver-switched"), level INFO, or WARN for
//     old-key-used-after-confirmation and
//     old-certificate-used-after-confirmation; the record's time is the
//     step's time on the Manager's clock. Keys: "renewal" (number),
//     "action", and where they apply "actor", "new_key" and "old_key"
//     (SHA-256 fingerprints as [wssec.Fingerprint.String] prints them), "receiver", "partner", "by",
//     "reference", "note", "count".
//   - message "rollover: renewal due", level WARN, at most once a day per
//     Manager, from [Manager.Resume] and evidence writes. Keys: "stage",
//     "current_key" (alias), "fingerprint", "not_after", "days_left",
//     "due_at", "health" ("ok", "warning", "critical"), "next_step"
//     (number) and "next" (name).
//
// # Reminders and monitoring
//
// Every [Report] says when a renewal is due ([Report.RenewalDueAt]: the
// current certificate's NotAfter minus [Policy.RenewalLead], 60 days by
// default), what the next step is and from when it is allowed
// ([Report.Next]), and how a monitoring system should treat the store
// ([Report.Health]: ok, warning when a renewal is due or a step waits for
// the operator, critical when nothing can decrypt or a certificate
// receivers may use is about to expire), with a one-line
// [Report.HealthReason]. The keyadmin example's check command prints it
// for cron and monitoring systems.
//
// # Persisted state
//
// The state lives in three JSON state blobs of the key store (package
// rollover/signer keeps the partners' state in a fourth)
// (keystore.Tx.SetState), written in the same transaction as the key
// changes of the step, so keys and state never disagree:
//
//	"rollover-decryption": {
//	  "version": 1,
//	  "seq": 5,                            // grows with every step; stale stage values are refused
//	  "renewal": 2,                        // number of the renewal in progress or last ended
//	  "stage": "certificate-provided",     // idle, key-pair-created, key-added, certificate-provided, receivers-switched
//	  "started": "…", "selfTest": "…", "provided": "…",
//	  "new": {"alias": "tenant-2027", "sha256": "…"},
//	  "old": {"alias": "tenant-2025", "sha256": "…"},
//	  "retention": {"guaranteedDelivery": "2880h0m0s", "retentionFloor": "2160h0m0s"},
//	  "receivers": [{"id": "partner", "description": "…", "provided": "…",
//	                 "confirmed": "…", "by": "…", "reference": "OPS-1",
//	                 "transport": {"keyTransport": "…#rsa-oaep", "oaepDigest": "SHA-1", "mgf": "SHA-1"},
//	                 "firstNewKeyUse": "…", "oldKeyUsesAfterConfirmation": 0}],
//	  "switched": "…", "expires": "…",    // last confirmation and the old key's expiry
//	  "firstNewKeyUse": "…", "oldKeyUsesAfterConfirmation": 0,
//	  "ended": "…", "outcome": "completed" // when idle: the last renewal's end
//	}
//	"rollover-usage": {"version": 1, "recorded": "…", "lastUsed": {"<sha256>": "…"}}
//	"rollover-audit": {"version": 1, "dropped": 0, "records": [{"time": "…", "renewal": 2,
//	  "action": "confirm-receiver-switched", "actor": "…", "new": "<sha256>", "old": "<sha256>",
//	  "receiver": "partner", "partner": "bank", "by": "…", "reference": "OPS-1", "note": "…", "count": 0}]}
//
// "retention" is the [Policy] of the Manager that took step 1, resolved
// (a zero GuaranteedDelivery is written as the floor), as Go durations.
// Every later decision about the renewal uses, for each of the two, the
// longer of the recorded value and the deciding Manager's, and a Manager
// with a longer one records it with the next change it writes, moving the
// old key's expiry in the store if it has one; the values are never
// lowered. State written without "retention" reads as the zero policy
// recorded, so each Manager uses its own until one records it.
//
// Fingerprints are lower-case hex SHA-256 digests of certificates; times
// are RFC 3339 in UTC. The audit trail keeps the latest 2000 records and
// counts those it dropped. A disabled key the key store destroys outside
// a change of this package (on a [keystore.Follower]'s tick) is recorded
// by the store in the same commit ([keystore.Store.Destructions]); the
// next change moves the record into "rollover-audit" as a destroy-key
// record, and [History] shows it in between.
//
// # Security
//
// No key is removed that a receiver may still encrypt to: the old key gets
// no expiry until every receiver given the new certificate has confirmed;
// its expiry is at least 90 days after the last confirmation (the floor
// cannot be lowered, [ErrInvalidPolicy]); and it stays while it decrypted
// a response within the guaranteed delivery time. The retention rules are
// recorded when the renewal starts, so a process configured with shorter
// ones, such as an operator's tool without the application's guaranteed
// delivery time, cannot shorten them. The key store enforces
// the expiry once more when the key is removed, and keeps rules of its
// own that no caller gets around (package keystore, "Retention is the
// store's rule"): a key handed out at step 3 is recorded as such and kept
// at least 90 days after it gets an expiry, which only moves later.
// Time never runs backwards inside a renewal: a step whose clock is
// behind the latest time the renewal, the usage evidence or the key
// store recorded is refused with a [*StageError] ([ErrClockBehind]) naming both times, and
// the old key's retention runs from the later of the Manager's and the
// store's clock.
// A receiver is never given
// a certificate whose key is not in the ring: step 3 follows step 2 by
// type, and its self-test decrypts through the live ring first.
//
// Every step is one key store transaction, written atomically and
// durably, and checks that the store still holds the stage it starts
// from: a stage value the store has moved past gets [ErrStaleStage],
// never a second application. The package's tests kill a process taking
// steps with SIGKILL at random moments (renewals that
// are cancelled, adopt a CA certificate, record usage and withdraw a
// confirmation) and check that the procedure resumes with keys, stage and
// audit trail in agreement, the old key's expiry as the procedure set it
// and a ring that decrypts with every key (set WSRENEW_CRASH=full for 100
// kills instead of 12); the keystore package's power-loss test cuts the
// power at every write and sync of every step. Audit records and logs hold fingerprints,
// receiver names, notes and times, never keys or passwords. Notes,
// references and receiver names are the caller's text, bounded in length,
// and are logged as given.
//
// # Concurrency
//
// A [Manager] is safe for concurrent use; so are the stage values, which
// are immutable snapshots. Steps, from one or several processes sharing a
// store, are serialized by the store's writer lock; of two steps from the
// same stage only the first is applied. Nothing in the package sleeps,
// polls or starts goroutines: time passes through [Options.Now], and the
// application decides when to call [Manager.RecordUsage]. Processes that
// decrypt should follow the store (keystore.Follow): they see step 2's
// key within moments, step 3 waits for them, and they write their own
// usage evidence, which step 7 reads. Processes that decrypt with a
// keystore.Store they do not follow see the key after their next
// keystore.Store.Reload, which they must have done before step 3; step
// 3 cannot know of them.
package rollover
