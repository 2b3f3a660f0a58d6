package rollover

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
	"github.com/wsrenew/wsrenew/wssec"
)

// Sentinel errors. Test for them with errors.Is; the typed errors below
// unwrap to them. Refusals of the old key's removal also unwrap to
// [wssec.ErrRetentionNotElapsed]. No error of this package contains key
// material or a password.
var (
	// ErrInvalidPolicy means that a [Policy] or [Options] field is out of
	// range, such as a retention floor below 90 days.
	ErrInvalidPolicy = errors.New("rollover: invalid policy")

	// ErrInvalidArgument means that an argument of a step is missing or
	// unusable: a nil store or credential, no receivers, an empty or
	// repeated receiver ID, a text that is too long.
	ErrInvalidArgument = procedure.ErrInvalidArgument

	// ErrStaleStage means that the store has moved past the stage value a
	// step was called on: another process, or an earlier call with the
	// same value, took a step since. Nothing was changed; call
	// [Manager.Resume] (or the signer package's Manager.Resume) for the
	// stage the store holds. The error is a [*StageError].
	ErrStaleStage = procedure.ErrStaleStage

	// ErrRenewalInProgress means that a renewal was to start while another
	// one has not finished. The error is a [*StageError] whose AllowedAt
	// is when the running renewal's old key may be removed, if known (a
	// partner's renewal leaves it zero).
	ErrRenewalInProgress = procedure.ErrRenewalInProgress

	// ErrCannotCancel means that a renewal was to be cancelled after its
	// certificate was provided to receivers, who may already encrypt to
	// the new key, or a partner's renewal after the partner confirmed its
	// switch. The error is a [*StageError].
	ErrCannotCancel = procedure.ErrCannotCancel

	// ErrSelfTestFailed means that a sample response encrypted to the new
	// certificate did not decrypt through the store's key ring, so the
	// certificate was not handed out. The error is a [*SelfTestError].
	ErrSelfTestFailed = errors.New("rollover: self-test failed")

	// ErrReceiverAlgorithm means that a receiver of step 3 would encrypt
	// with a key transport the new key cannot perform, such as RSA-OAEP
	// with SHA-256 to a key in a token that does OAEP with SHA-1 only.
	// The error is a [*SelfTestError].
	ErrReceiverAlgorithm = errors.New("rollover: new key cannot perform a receiver's algorithm")

	// ErrReceiversPending means that the old key was to be removed while
	// a receiver has not confirmed that it encrypts with the new key. The
	// error is a [*RemovalError].
	ErrReceiversPending = procedure.ErrReceiversPending

	// ErrHoldersNotReady means that the new certificate was to be handed
	// to receivers while a live holder of the store (a process following
	// it, [keystore.Follow]) has not loaded the new key and passed its
	// self-test, or while fewer holders are live than
	// [Policy.MinHolders]; or that a partner's new signing certificate is
	// not yet trusted by every holder (the signer package's
	// CertificateAdded.CheckHolders). The error is a
	// [*HoldersError] listing them.
	ErrHoldersNotReady = errors.New("rollover: holders have not loaded the new key")

	// ErrKeyInUse means that the old key was to be removed although it
	// decrypted a message less than the guaranteed delivery time ago. The
	// error is a [*RemovalError].
	ErrKeyInUse = procedure.ErrKeyInUse

	// ErrUnknownReceiver means that a confirmation names a receiver the
	// certificate was not provided to, or one whose confirmation is not
	// recorded.
	ErrUnknownReceiver = errors.New("rollover: unknown receiver")

	// ErrAlreadyConfirmed means that a receiver's confirmation was
	// recorded before.
	ErrAlreadyConfirmed = errors.New("rollover: receiver already confirmed")

	// ErrCorruptState means that the rollover state in the key store
	// cannot be parsed or has an unknown version. The error is a
	// [*StateError].
	ErrCorruptState = procedure.ErrCorruptState

	// ErrInconsistent means that the key store's entries do not match the
	// rollover state, because keys were changed outside the procedure.
	// The error is a [*StateError].
	ErrInconsistent = errors.New("rollover: key store does not match the rollover state")

	// ErrClockBehind means that the Manager's clock shows a time before
	// the latest time the renewal or the key store recorded (a wrong
	// system clock, or a clock set back): recording a confirmation in the
	// past would end the old key's retention early. Nothing was changed.
	// The error is a [*StageError] naming both times (Now, Latest).
	ErrClockBehind = procedure.ErrClockBehind
)

// StageError reports a step that the stage the store holds does not
// allow, of the decryption-key renewal or of a partner's
// signing-certificate renewal. Nothing was changed. Op names the refused
// step; Partner the partner (empty for the decryption key); Stage the
// stage of the value the step was called on (empty for [Manager.Begin])
// and Stored the stage the store holds, of renewal number Renewal. Stale
// reports a stage value older than the store's state ([ErrStaleStage]).
// AllowedAt is when the step becomes allowed, if known: for
// [ErrRenewalInProgress], when the running renewal's old key may be
// removed. For [ErrClockBehind], Now is the Manager's clock's time and
// Latest the latest time the renewal or the key store recorded. Reason
// says why when the stage alone does not: a Cancel refused because the
// new key may be in use names the key and when its certificate was
// handed out or it decrypted a response. Err is [ErrRenewalInProgress],
// [ErrCannotCancel], [ErrClockBehind] or nil; Cause is the underlying
// refusal, if any, such as the key store's.
type StageError = procedure.StageError

// RemovalError reports a refused removal, too early: of the old
// decryption key ([ReceiversSwitched.RemoveOldKey]), or of a partner's
// signing certificate (package rollover/signer). It unwraps to a
// [*wssec.KeyError] for [wssec.ErrRetentionNotElapsed] with the same
// Fingerprint and AllowedAt (zero while a receiver has not confirmed), so
// errors.Is(err, wssec.ErrRetentionNotElapsed) holds for every refusal.
// Alias names the key (empty for a certificate), Partner the partner
// (empty for the key), Pending the receivers that have not confirmed,
// LastUsed the last decryption or verification the evidence knows of.
// Err is [ErrReceiversPending] or [ErrKeyInUse] for the key, the signer
// package's ErrPartnerNotSwitched or ErrCertificateInUse for a
// certificate, or nil if only the retention period has not elapsed.
type RemovalError = procedure.RemovalError

// SelfTestError reports a new key that failed step 3's checks before
// its certificate was handed out, so nothing was. Err says which check:
//
//   - [ErrSelfTestFailed]: a sample response encrypted to the new
//     certificate, naming the key as Identifier says, did not decrypt
//     with the new key through the store's key ring;
//   - [ErrReceiverAlgorithm]: the new key cannot perform the key
//     transport Transport that the receiver named by Receiver was given.
type SelfTestError struct {
	// Fingerprint names the new key.
	Fingerprint wssec.Fingerprint
	// Identifier is the key identifier of the failing sample, such as
	// "X509IssuerSerial"; empty for a receiver's algorithm.
	Identifier string
	// Receiver is the receiver's ID and Transport the key transport it
	// was given; empty for a failed sample.
	Receiver  string
	Transport wssec.TransportParams
	// Reason says what failed.
	Reason string
	// Err is [ErrSelfTestFailed] or [ErrReceiverAlgorithm]; nil reads as
	// ErrSelfTestFailed.
	Err error
	// Cause is the underlying error, if any, such as an error of
	// [wssec.Decryptor.Decrypt], a [*wssec.KeyError] for
	// [wssec.ErrKeyCapability], or
	// [wssec.ErrInvalidPolicy] for a transport that is not valid at all.
	Cause error
}

func (e *SelfTestError) Error() string {
	var s string
	if errors.Is(e.Err, ErrReceiverAlgorithm) {
		s = fmt.Sprintf("rollover: receiver %q: new key cannot perform %s", e.Receiver, describeTransport(e.Transport))
	} else {
		s = fmt.Sprintf("rollover: self-test of key %s with %s failed: %s", e.Fingerprint.String(), e.Identifier, e.Reason)
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns Err (or [ErrSelfTestFailed]) and Cause, if any.
func (e *SelfTestError) Unwrap() []error {
	out := []error{ErrSelfTestFailed}
	if e.Err != nil {
		out[0] = e.Err
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

// StateError reports rollover state that cannot be used: Name is the
// key store state blob, such as "rollover-decryption", Reason says what
// is wrong, Err is [ErrCorruptState] or [ErrInconsistent], and Cause is
// the underlying error, if any.
type StateError = procedure.StateError

// HoldersError reports the holders that keep step 3 from handing out
// the new certificate.
type HoldersError struct {
	// Fingerprint names the new key, or the partner's new signing
	// certificate.
	Fingerprint wssec.Fingerprint
	// Signer is the partner whose new certificate the holders must
	// trust (the signer package's CertificateAdded.CheckHolders); empty for the
	// decryption key.
	Signer string
	// Laggards are the live holders that do not hold the new key with a
	// passed self-test.
	Laggards []Laggard
	// Live is the number of live holders, and MinHolders the least
	// number the policy requires (zero: no minimum).
	Live, MinHolders int
}

// Laggard is a live holder that does not hold the new key yet.
type Laggard struct {
	ID, Host   string
	PID        int
	Generation uint64
	// Reason says what is missing: the key is not loaded, its self-test
	// failed, or the holder cannot read the store.
	Reason string
}

func (e *HoldersError) Error() string {
	var b strings.Builder
	if e.Signer != "" {
		fmt.Fprintf(&b, "rollover: holders do not trust partner %q's new signing certificate %s", e.Signer, e.Fingerprint.String())
	} else {
		fmt.Fprintf(&b, "rollover: holders have not loaded the new key %s", e.Fingerprint.String())
	}
	for i, l := range e.Laggards {
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		fmt.Fprintf(&b, "%s%q (host %q, pid %d, generation %d) %s", sep, l.ID, l.Host, l.PID, l.Generation, l.Reason)
	}
	if e.Live < e.MinHolders {
		fmt.Fprintf(&b, "; %d live holders, the policy requires at least %d", e.Live, e.MinHolders)
	}
	return b.String()
}

// Unwrap returns [ErrHoldersNotReady].
func (e *HoldersError) Unwrap() error { return ErrHoldersNotReady }
