// Package signer runs the renewal of a partner's signing certificate:
// the partner renews the key that signs its responses, and the tenant
// trusts its new certificate before the partner signs with it and removes
// the old one only after the guaranteed delivery time. It is the mirror
// of package rollover's decryption-key renewal, on the same key store,
// with the same retention rules ([rollover.Policy]), audit trail
// ([rollover.History]) and typed errors, built on the same core.
//
// [New] returns a [Manager] for a key store; [Manager.Resume] returns the
// stage of one partner's renewal (partners are named by an ID, such as
// "bank", and renew independently), and [Manager.TrustRing] the
// partner's [wssec.TrustRing] for the Signers of the [wssec.Decryptor]
// that processes its responses. First, [Untrusted.Trust] trusts the
// partner's current certificate ([Trusted]); a renewal then takes three
// steps:
//
//  1. Partner: announces its new signing certificate — the tenant adds
//     it with [Trusted.AddCertificate]: trusted from now on, as the
//     ring's current certificate; the old one stays, retained with no
//     expiry ([CertificateAdded]). The certificate is checked (RSA of at
//     least 2048 bits or ECDSA on P-256, P-384 or P-521, not expired, and
//     chaining to the chain that came with it, if any).
//     [CertificateAdded.CheckHolders] says when every process that
//     verifies the partner's responses trusts it.
//  2. Partner: switches, and says so —
//     [CertificateAdded.ConfirmPartnerSwitched]; or the first response
//     signed with the new certificate stands for its word —
//     [Confirmation.FromEvidence]. The old certificate gets its expiry:
//     the confirmation plus max(GuaranteedDelivery, 90 days), under rules
//     recorded at step 1 as for the decryption key (a Manager with a
//     longer [rollover.Policy] raises them with the next change it
//     writes) ([Switched]).
//  3. Tenant: removes the old certificate —
//     [Switched.RemoveOldCertificate], refused with a
//     [*rollover.RemovalError] ([wssec.ErrRetentionNotElapsed]) until
//     the expiry has passed and the old certificate has not verified a
//     response for the guaranteed delivery time. Until then the trust
//     ring of [Manager.TrustRing] keeps trusting it: its entry there has
//     no expiry, since a [wssec.TrustRing] ends trust at an entry's
//     expiry and the store may keep the certificate past this one.
//
// Before step 2 the new certificate can be removed again
// ([CertificateAdded.Cancel]), unless it verified a response within the
// guaranteed delivery time; after it, a withdrawn confirmation
// ([Switched.WithdrawConfirmation]) takes the old certificate's expiry
// away again. The trust rings count which certificate verified each
// response; [Manager.RecordUsage] writes that evidence, and
// [Manager.Observe] feeds it from an application that verifies with
// rings of its own. Steps taken through a Manager update the rings it
// handed out at once; steps other processes took reach them with
// [Manager.SyncTrustRings]. [ExampleTrusted_AddCertificate] shows the
// whole procedure.
//
// # The key store as a blob store
//
// The partners' trusted certificates are public; the key store holds
// them only as state, and the package uses the store as a store of state
// blobs and nothing else: its steps read and write the blobs through a
// narrow interface of the store's transaction (the blobs, the store's
// clock and the latest time it recorded), never its keys. The state is
// one JSON blob, "rollover-signers", written atomically with the audit
// records of the step:
//
//	"rollover-signers": {"version": 1, "partners": {"bank": {
//	  "seq": 3, "renewal": 1,              // per partner; stale stage values are refused
//	  "stage": "partner-switched",         // trusted, certificate-added, partner-switched
//	  "current": {"sha256": "…", "der": "<base64>", "chain": ["<base64>"], "subject": "…",
//	              "notAfter": "…", "added": "…", "by": "…", "reference": "…", "lastVerified": "…"},
//	  "old": {…},                          // during a renewal: the certificate it replaces
//	  "retention": {"guaranteedDelivery": "2880h0m0s", "retentionFloor": "2160h0m0s"},
//	  "started": "…",                      // step 1's time
//	  "confirmed": "…", "confirmedBy": "…", "reference": "…", "fromEvidence": false,
//	  "expires": "…", "firstNewSignature": "…", "oldUsesAfterConfirmation": 0,
//	  "ended": "…", "outcome": "completed"}}}
//
// Each certificate is checked against its fingerprint (lower-case hex
// SHA-256) when the state is read; times are RFC 3339 in UTC. The audit
// records go to the trail package rollover documents, "rollover-audit",
// with the partner's ID in "partner".
//
// # Security
//
// No partner certificate is removed from a trust ring while the partner
// may still sign with it, or while a response it signed may still arrive:
// the old certificate gets no expiry until the partner's switch is
// confirmed, its expiry is at least 90 days after the confirmation (the
// floor cannot be lowered), it stays while it verified a response within
// the guaranteed delivery time, and a ring is changed by adding
// certificates before dropping any. The removal is checked a second time
// with the key store's clock against the persisted expiry and
// [keystore.MinRetention]. Cancelling a partner's new certificate is
// refused while it verified a response within the guaranteed delivery
// time, since the partner already signs with it. A step whose clock is
// behind the latest time the partners' state or the key store recorded
// is refused with a [*rollover.StageError] ([rollover.ErrClockBehind]).
//
// Every step is one key store transaction and checks that the store still
// holds the stage it starts from: a stage value the store has moved past
// gets [rollover.ErrStaleStage], never a second application. The
// package's tests kill a process taking steps with SIGKILL at random
// moments and check that the partner's stage, its trust ring and the
// audit trail agree afterwards (set WSRENEW_CRASH=full for 100 kills
// instead of 12). Audit records and logs hold fingerprints, partner IDs,
// notes and times, never keys.
//
// # Concurrency
//
// A [Manager] is safe for concurrent use; so are the stage values, which
// are immutable snapshots. Steps, from one or several processes sharing a
// store, are serialized by the store's writer lock; of two steps from the
// same stage only the first is applied. Steps for different partners do
// not make each other's stage values stale. Nothing in the package
// sleeps, polls or starts goroutines. Processes that verify a partner's
// responses hold its new certificate after their next
// [Manager.SyncTrustRings]; a partner should be told that its certificate
// is trusted only after every process verifying its responses has
// synchronized ([CertificateAdded.CheckHolders]).
package signer
