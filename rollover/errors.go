package rollover

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
	ErrInvalidArgument = errors.New("rollover: invalid argument")

	// ErrStaleStage means that the store has moved past the stage value a
	// step was called on: another process, or an earlier call with the
	// same value, took a step since. Nothing was changed; call
	// [Manager.Resume] (or [Manager.ResumeSigner]) for the stage the store
	// holds. The error is a [*StageError].
	ErrStaleStage = errors.New("rollover: stage is stale")

	// ErrRenewalInProgress means that a renewal was to start while another
	// one has not finished. The error is a [*StageError] whose AllowedAt
	// is when the running renewal's old key may be removed, if known (a
	// partner's renewal leaves it zero).
	ErrRenewalInProgress = errors.New("rollover: a renewal is in progress")

	// ErrCannotCancel means that a renewal was to be cancelled after its
	// certificate was provided to receivers, who may already encrypt to
	// the new key, or a partner's renewal after the partner confirmed its
	// switch. The error is a [*StageError].
	ErrCannotCancel = errors.New("rollover: renewal cannot be cancelled once the certificate was provided")

	// ErrSelfTestFailed means that a sample response encrypted to the new
	// certificate did not decrypt through the store's key ring, so the
	// certificate was not handed out. The error is a [*SelfTestError].
	ErrSelfTestFailed = errors.New("rollover: self-test failed")

	// ErrReceiverAlgorithm means that a receiver of step 3 would encrypt
	// with a key transport the new key cannot perform, such as RSA-OAEP
	// with SHA-256 to a key in a token that does OAEP with SHA-1 only.
	// The error is a [*ReceiverAlgorithmError].
	ErrReceiverAlgorithm = errors.New("rollover: new key cannot perform a receiver's algorithm")

	// ErrReceiversPending means that the old key was to be removed while
	// a receiver has not confirmed that it encrypts with the new key. The
	// error is a [*RemovalError].
	ErrReceiversPending = errors.New("rollover: receivers have not confirmed the switch")

	// ErrHoldersNotReady means that the new certificate was to be handed
	// to receivers while a live holder of the store (a process following
	// it, [keystore.Follow]) has not loaded the new key and passed its
	// self-test, or while fewer holders are live than
	// [Policy.MinHolders]; or that a partner's new signing certificate is
	// not yet trusted by every holder
	// ([SignerCertificateAdded.CheckHolders]). The error is a
	// [*HoldersError] listing them.
	ErrHoldersNotReady = errors.New("rollover: holders have not loaded the new key")

	// ErrKeyInUse means that the old key was to be removed although it
	// decrypted a message less than the guaranteed delivery time ago. The
	// error is a [*RemovalError].
	ErrKeyInUse = errors.New("rollover: old key still in use")

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
	ErrCorruptState = errors.New("rollover: corrupt state")

	// ErrInconsistent means that the key store's entries do not match the
	// rollover state, because keys were changed outside the procedure.
	// The error is a [*StateError].
	ErrInconsistent = errors.New("rollover: key store does not match the rollover state")

	// ErrUnknownPartner means that no signing certificate of the partner
	// is trusted: [SignerUntrusted.Trust] has not been taken for it.
	ErrUnknownPartner = errors.New("rollover: no certificate of the partner is trusted")

	// ErrInvalidCertificate means that a partner's signing certificate
	// cannot be trusted: its key is neither RSA of at least 2048 bits nor
	// ECDSA on P-256, P-384 or P-521 (the error also matches
	// [wssec.ErrInvalidKey]), it has expired, it does not chain to the
	// chain given with it, or it is trusted already.
	ErrInvalidCertificate = errors.New("rollover: invalid signing certificate")

	// ErrNoEvidence means that a partner's switch was to be confirmed from
	// evidence while no response signed with its new certificate has been
	// recorded.
	ErrNoEvidence = errors.New("rollover: no response signed with the new certificate recorded")

	// ErrPartnerNotSwitched means that a partner's old certificate was to
	// be removed while its confirmation that it signs with the new one was
	// withdrawn. The error is a [*RemovalError].
	ErrPartnerNotSwitched = errors.New("rollover: the partner has not confirmed that it signs with the new certificate")

	// ErrClockBehind means that the Manager's clock shows a time before
	// the latest time the renewal or the key store recorded (a wrong
	// system clock, or a clock set back): recording a confirmation in the
	// past would end the old key's retention early. Nothing was changed.
	// The error is a [*ClockError] naming both times.
	ErrClockBehind = errors.New("rollover: clock is behind the latest recorded time")

	// ErrCertificateInUse means that a partner's certificate was to be
	// removed although it verified a signature less than the guaranteed
	// delivery time ago: the old one after the partner's switch, or the new
	// one when its addition was to be cancelled. The error is a
	// [*RemovalError].
	ErrCertificateInUse = errors.New("rollover: certificate still in use")
)

// StageError reports a step that the stage the store holds does not
// allow, of the decryption-key renewal or of a partner's
// signing-certificate renewal. Nothing was changed.
type StageError struct {
	// Op names the refused step, such as "AddToKeyStore".
	Op string
	// Partner is the partner whose signing-certificate renewal the step
	// was for; empty for the decryption-key renewal.
	Partner string
	// Stage is the stage of the value the step was called on; empty for
	// calls that take no stage value, such as [Manager.Begin].
	Stage StageName
	// Stored is the stage the store holds.
	Stored StageName
	// Renewal is the number of the renewal the store holds.
	Renewal uint64
	// Stale reports that the stage value is older than the store's state.
	Stale bool
	// AllowedAt is when the step becomes allowed, if it is known: for
	// [ErrRenewalInProgress], when the running renewal's old key may be
	// removed. It is zero if that depends on receivers that have not
	// confirmed yet, or if the step will never be allowed.
	AllowedAt time.Time
	// Err is [ErrRenewalInProgress], [ErrCannotCancel], or nil.
	Err error
}

func (e *StageError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rollover: %s refused", e.Op)
	if e.Partner != "" {
		fmt.Fprintf(&b, " for partner %q", e.Partner)
	}
	b.WriteString(": ")
	if e.Stale {
		fmt.Fprintf(&b, "stage %s is stale, the store holds stage %s of renewal %d", e.Stage, e.Stored, e.Renewal)
	} else {
		fmt.Fprintf(&b, "the store holds stage %s of renewal %d", e.Stored, e.Renewal)
	}
	switch {
	case errors.Is(e.Err, ErrRenewalInProgress):
		b.WriteString("; a renewal is in progress")
	case errors.Is(e.Err, ErrCannotCancel) && e.Partner != "":
		b.WriteString("; the partner confirmed the switch, so the renewal can no longer be cancelled")
	case errors.Is(e.Err, ErrCannotCancel):
		b.WriteString("; the certificate was provided to receivers, so the renewal can no longer be cancelled")
	}
	if !e.AllowedAt.IsZero() {
		fmt.Fprintf(&b, "; allowed from %s", e.AllowedAt.Format(time.RFC3339))
	}
	return b.String()
}

// Unwrap returns [ErrStaleStage] if Stale is set, and Err if it is not
// nil.
func (e *StageError) Unwrap() []error {
	var out []error
	if e.Stale {
		out = append(out, ErrStaleStage)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// RemovalError reports a refused removal: of the old decryption key
// ([ReceiversSwitched.RemoveOldKey]), or of a partner's signing
// certificate from the trust ring, the old one after the partner's switch
// ([SignerSwitched.RemoveOldCertificate]) or the new one when its
// addition is cancelled ([SignerCertificateAdded.Cancel]). It unwraps to
// a [*wssec.KeyError] for [wssec.ErrRetentionNotElapsed] with the same fingerprint and AllowedAt, so
// errors.Is(err, wssec.ErrRetentionNotElapsed) holds for every refusal.
type RemovalError struct {
	// Alias and Fingerprint name the key or the certificate; Alias is
	// empty for a certificate.
	Alias       string
	Fingerprint wssec.Fingerprint
	// Partner is the partner whose certificate it is; empty for the
	// decryption key.
	Partner string
	// AllowedAt is when the removal becomes allowed; zero while a
	// receiver (or the partner) has not confirmed, since the retention
	// period starts only with the last confirmation.
	AllowedAt time.Time
	// Pending lists the receivers that have not confirmed.
	Pending []string
	// LastUsed is when the key last decrypted a message, or the
	// certificate last verified a signature, as far as the evidence
	// goes; zero if never.
	LastUsed time.Time
	// Err is [ErrReceiversPending] or [ErrKeyInUse] for the key,
	// [ErrPartnerNotSwitched] or [ErrCertificateInUse] for a certificate,
	// or nil if only the retention period has not elapsed.
	Err error
}

func (e *RemovalError) Error() string {
	var b strings.Builder
	if e.Partner != "" {
		fmt.Fprintf(&b, "rollover: certificate %s of partner %q cannot be removed yet: ", e.Fingerprint.String(), e.Partner)
	} else {
		fmt.Fprintf(&b, "rollover: old key %s (%s) cannot be removed yet: ", e.Alias, e.Fingerprint.String())
	}
	switch {
	case errors.Is(e.Err, ErrReceiversPending):
		fmt.Fprintf(&b, "receivers %s have not confirmed the switch", strings.Join(quoteAll(e.Pending), ", "))
	case errors.Is(e.Err, ErrKeyInUse):
		fmt.Fprintf(&b, "it decrypted a message at %s, within the guaranteed delivery time", e.LastUsed.Format(time.RFC3339))
	case errors.Is(e.Err, ErrPartnerNotSwitched):
		b.WriteString("the partner has not confirmed that it signs with the new certificate")
	case errors.Is(e.Err, ErrCertificateInUse):
		fmt.Fprintf(&b, "it verified a signature at %s, within the guaranteed delivery time", e.LastUsed.Format(time.RFC3339))
	default:
		b.WriteString("the retention period has not elapsed")
	}
	if !e.AllowedAt.IsZero() {
		fmt.Fprintf(&b, "; allowed from %s", e.AllowedAt.Format(time.RFC3339))
	}
	return b.String()
}

// Unwrap returns a [*wssec.KeyError] for [wssec.ErrRetentionNotElapsed] (which unwraps to
// [wssec.ErrRetentionNotElapsed]) and Err if it is not nil.
func (e *RemovalError) Unwrap() []error {
	return retentionErrors(e.Fingerprint, e.AllowedAt, e.Err)
}

// retentionErrors is what a refused removal unwraps to: the retention
// error for the key or certificate, and the reason if there is one.
func retentionErrors(fp wssec.Fingerprint, allowedAt time.Time, reason error) []error {
	out := []error{&wssec.KeyError{Fingerprint: fp, AllowedAt: allowedAt, Err: wssec.ErrRetentionNotElapsed}}
	if reason != nil {
		out = append(out, reason)
	}
	return out
}

// SelfTestError reports a failed self-test: a sample response encrypted
// to the new certificate, naming the key as Identifier says, did not
// decrypt with the new key through the store's key ring.
type SelfTestError struct {
	// Fingerprint names the new key.
	Fingerprint wssec.Fingerprint
	// Identifier is the key identifier of the failing sample, such as
	// "X509IssuerSerial".
	Identifier string
	// Reason says what failed.
	Reason string
	// Cause is the underlying error, if any, such as an error of
	// [wssec.Decryptor.Decrypt].
	Cause error
}

func (e *SelfTestError) Error() string {
	s := fmt.Sprintf("rollover: self-test of key %s with %s failed: %s", e.Fingerprint.String(), e.Identifier, e.Reason)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns [ErrSelfTestFailed] and Cause, if any.
func (e *SelfTestError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrSelfTestFailed}
	}
	return []error{ErrSelfTestFailed, e.Cause}
}

// ReceiverAlgorithmError reports a receiver whose key transport the new
// key cannot perform.
type ReceiverAlgorithmError struct {
	// Receiver is the receiver's ID.
	Receiver string
	// Transport is the key transport the receiver was given.
	Transport wssec.TransportParams
	// Cause says why: a [*wssec.KeyError] for [wssec.ErrKeyCapability], or
	// [wssec.ErrInvalidPolicy] for a transport that is not valid at all.
	Cause error
}

func (e *ReceiverAlgorithmError) Error() string {
	return fmt.Sprintf("rollover: receiver %q: new key cannot perform %s: %v", e.Receiver, describeTransport(e.Transport), e.Cause)
}

// Unwrap returns [ErrReceiverAlgorithm] and Cause, if any.
func (e *ReceiverAlgorithmError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrReceiverAlgorithm}
	}
	return []error{ErrReceiverAlgorithm, e.Cause}
}

// StateError reports rollover state that cannot be used: state that does
// not parse, or that the key store's entries contradict.
type StateError struct {
	// Name is the key store state blob, such as "rollover-decryption".
	Name string
	// Reason says what is wrong.
	Reason string
	// Err is [ErrCorruptState] or [ErrInconsistent].
	Err error
	// Cause is the underlying error, if any.
	Cause error
}

func (e *StateError) Error() string {
	msg := "rollover: state error"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	s := fmt.Sprintf("%s: %s: %s", msg, e.Name, e.Reason)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns Err and Cause, if any.
func (e *StateError) Unwrap() []error {
	out := []error{e.Err}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// ClockError reports a step refused because the Manager's clock is
// behind a time the renewal or the key store recorded.
type ClockError struct {
	// Op names the refused step, such as "ConfirmReceiverSwitched".
	Op string
	// Now is the Manager's clock's time.
	Now time.Time
	// Latest is the latest time recorded in the store.
	Latest time.Time
}

func (e *ClockError) Error() string {
	return fmt.Sprintf("rollover: %s refused: the clock shows %s, before the latest recorded time %s; correct the clock",
		e.Op, e.Now.UTC().Format(time.RFC3339), e.Latest.UTC().Format(time.RFC3339))
}

// Unwrap returns [ErrClockBehind].
func (e *ClockError) Unwrap() error { return ErrClockBehind }

// CancelError reports a cancellation refused because the new key may be
// in use: its certificate was handed out (exported, or given to receivers
// by another process) or it decrypted a response. Continue the renewal
// with step 3 instead.
type CancelError struct {
	Alias       string
	Fingerprint wssec.Fingerprint
	// Provided is when the certificate was handed out; zero if it was not.
	Provided time.Time
	// LastUsed is when the key last decrypted a response; zero if never.
	LastUsed time.Time
	// Cause is the key store's refusal, if it refused.
	Cause error
}

func (e *CancelError) Error() string {
	var why string
	switch {
	case !e.Provided.IsZero():
		why = fmt.Sprintf("its certificate was handed out at %s", e.Provided.UTC().Format(time.RFC3339))
	case !e.LastUsed.IsZero():
		why = fmt.Sprintf("it decrypted a response at %s", e.LastUsed.UTC().Format(time.RFC3339))
	default:
		why = "the key store refused"
	}
	msg := fmt.Sprintf("rollover: Cancel refused: the new key %s (%s) may be in use: %s; a receiver may encrypt to it, so continue with step 3 instead",
		e.Alias, e.Fingerprint.String(), why)
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns [ErrCannotCancel] and the Cause, if any.
func (e *CancelError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrCannotCancel}
	}
	return []error{ErrCannotCancel, e.Cause}
}

// HoldersError reports the holders that keep step 3 from handing out
// the new certificate.
type HoldersError struct {
	// Fingerprint names the new key, or the partner's new signing
	// certificate.
	Fingerprint wssec.Fingerprint
	// Signer is the partner whose new certificate the holders must
	// trust ([SignerCertificateAdded.CheckHolders]); empty for the
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
