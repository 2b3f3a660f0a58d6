package procedure

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Sentinel errors both procedures return; package rollover exports each
// under the same name, where their documentation is.
var (
	ErrInvalidArgument    = errors.New("rollover: invalid argument")
	ErrStaleStage         = errors.New("rollover: stage is stale")
	ErrRenewalInProgress  = errors.New("rollover: a renewal is in progress")
	ErrCannotCancel       = errors.New("rollover: renewal cannot be cancelled once the certificate was provided")
	ErrCorruptState       = errors.New("rollover: corrupt state")
	ErrClockBehind        = errors.New("rollover: clock is behind the latest recorded time")
	ErrReceiversPending   = errors.New("rollover: receivers have not confirmed the switch")
	ErrKeyInUse           = errors.New("rollover: old key still in use")
	ErrPartnerNotSwitched = errors.New("rollover: the partner has not confirmed that it signs with the new certificate")
	ErrCertificateInUse   = errors.New("rollover: certificate still in use")
)

// StageName names a stage of either procedure, as the store keeps it.
type StageName string

// StageError reports a step that the stage the store holds does not
// allow, of the decryption-key renewal or of a partner's
// signing-certificate renewal, or that the clock does not allow
// (ErrClockBehind). Nothing was changed.
type StageError struct {
	// Op names the refused step, such as "AddToKeyStore".
	Op string
	// Partner is the partner whose signing-certificate renewal the step
	// was for; empty for the decryption-key renewal.
	Partner string
	// Stage is the stage of the value the step was called on; empty for
	// calls that take no stage value, such as rollover's Manager.Begin.
	Stage StageName
	// Stored is the stage the store holds.
	Stored StageName
	// Renewal is the number of the renewal the store holds.
	Renewal uint64
	// Stale reports that the stage value is older than the store's state.
	Stale bool
	// AllowedAt is when the step becomes allowed, if it is known: for
	// ErrRenewalInProgress, when the running renewal's old key may be
	// removed. It is zero if that depends on receivers that have not
	// confirmed yet, or if the step will never be allowed.
	AllowedAt time.Time
	// Now and Latest are set for ErrClockBehind: the Manager's clock's
	// time, and the latest time the renewal or the key store recorded,
	// which Now is before.
	Now, Latest time.Time
	// Reason says why the step is refused when the stage alone does not:
	// rollover's Cancel names the new key that may be in use and since
	// when. Empty otherwise.
	Reason string
	// Err is ErrRenewalInProgress, ErrCannotCancel, ErrClockBehind, or
	// nil.
	Err error
	// Cause is the underlying refusal, if any, such as the key store's
	// refusal to cancel a key whose certificate was handed out.
	Cause error
}

func (e *StageError) Error() string {
	if errors.Is(e.Err, ErrClockBehind) {
		return fmt.Sprintf("rollover: %s refused: the clock shows %s, before the latest recorded time %s; correct the clock",
			e.Op, e.Now.UTC().Format(time.RFC3339), e.Latest.UTC().Format(time.RFC3339))
	}
	if e.Reason != "" {
		s := fmt.Sprintf("rollover: %s refused: %s", e.Op, e.Reason)
		if e.Cause != nil {
			s += ": " + e.Cause.Error()
		}
		return s
	}
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

// Unwrap returns ErrStaleStage if Stale is set, and Err and Cause if
// they are not nil.
func (e *StageError) Unwrap() []error {
	var out []error
	if e.Stale {
		out = append(out, ErrStaleStage)
	}
	for _, err := range []error{e.Err, e.Cause} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// RemovalError reports a refused removal, too early: of the old
// decryption key, or of a partner's signing certificate from the trust
// ring (the old one after the partner's switch, or the new one when its
// addition is cancelled). It unwraps to a [*wssec.KeyError] for
// [wssec.ErrRetentionNotElapsed] with the same fingerprint and
// AllowedAt, so errors.Is(err, wssec.ErrRetentionNotElapsed) holds for
// every refusal.
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
	// Err is ErrReceiversPending or ErrKeyInUse for the key,
	// ErrPartnerNotSwitched or ErrCertificateInUse for a certificate, or
	// nil if only the retention period has not elapsed.
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
		fmt.Fprintf(&b, "receivers %s have not confirmed the switch", strings.Join(QuoteAll(e.Pending), ", "))
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

// Unwrap returns a [*wssec.KeyError] for [wssec.ErrRetentionNotElapsed]
// (which unwraps to it) and Err if it is not nil.
func (e *RemovalError) Unwrap() []error {
	out := []error{&wssec.KeyError{Fingerprint: e.Fingerprint, AllowedAt: e.AllowedAt, Err: wssec.ErrRetentionNotElapsed}}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// StateError reports rollover state that cannot be used: state that does
// not parse, or that the key store's entries contradict.
type StateError struct {
	// Name is the key store state blob, such as "rollover-decryption".
	Name string
	// Reason says what is wrong.
	Reason string
	// Err is ErrCorruptState, or rollover's ErrInconsistent.
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

// QuoteAll quotes each of s.
func QuoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
