// Package procedure is the core that both renewal procedures of the
// module are built on: the decryption-key renewal of package rollover and
// the partners' signing-certificate renewal of package rollover/signer.
//
// It holds what the two have in common, written once:
//
//   - the retention rules ([Rules]): the 90-day floor, retention =
//     max(guaranteed delivery, floor), the rules recorded with a renewal
//     and raised, never lowered, by a process with longer ones;
//   - the audit trail ([Record], [AppendAudit], [ReadAudit], [Emit]),
//     one trail in the key store for both procedures;
//   - one step transaction over the persisted state ([Run]): load the
//     state, refuse a clock behind what the store recorded, apply, append
//     the audit records and commit, in one key store transaction;
//   - the stage skeleton's freshness rule ([Pos], [Stale]): a step taken
//     from a stage value the store has moved past is refused;
//   - the evidence counting ([Uses], [RingCounter], [DueAudit]);
//   - the typed errors both return ([RemovalError], [StageError],
//     [StateError]) and their sentinels, which package
//     rollover exports under the same names.
//
// The package is internal: its names reach users only through rollover's
// aliases, so it may change with the two procedures.
//
// # Concurrency
//
// Functions are safe for concurrent use; [Uses] and [RingCounter] are
// not, and their owners guard them.
package procedure
