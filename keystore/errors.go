package keystore

import (
	"errors"
	"fmt"
	"time"

	"github.com/wsrenew/wsrenew/wssec"
)

// Sentinel errors. Test for them with [errors.Is]; the typed errors below
// unwrap to them. No error of this package contains a password or key
// material.
var (
	// ErrNoPassword means that the password source yields no password: the
	// variable is unset or empty, the file is missing or empty, or the
	// value is empty. There is no default password.
	ErrNoPassword = errors.New("keystore: no password")

	// ErrWrongPassword means that a PKCS#12 file or an encrypted private
	// key cannot be opened with the password given.
	ErrWrongPassword = errors.New("keystore: wrong password")

	// ErrKeyMismatch means that a certificate does not belong to the
	// private key it was given with.
	ErrKeyMismatch = errors.New("keystore: certificate does not match private key")

	// ErrUnknownAlias means that the store holds no entry with the alias.
	ErrUnknownAlias = errors.New("keystore: unknown alias")

	// ErrDuplicateAlias means that the store already holds an entry with
	// the alias.
	ErrDuplicateAlias = errors.New("keystore: duplicate alias")

	// ErrDuplicateKey means that the store already holds the certificate
	// under another alias.
	ErrDuplicateKey = errors.New("keystore: certificate already in store")

	// ErrInvalidName means that an alias or a state name is empty, too
	// long, or uses characters other than ASCII letters, digits, '.', '_'
	// and '-' (it must start with a letter or digit).
	ErrInvalidName = errors.New("keystore: invalid name")

	// ErrCorruptManifest means that the manifest cannot be parsed or breaks
	// a rule of the store. The error is a [*Error] naming the file.
	ErrCorruptManifest = errors.New("keystore: corrupt manifest")

	// ErrMissingFile means that the manifest names an entry file that does
	// not exist.
	ErrMissingFile = errors.New("keystore: missing entry file")

	// ErrCorruptEntry means that an entry file exists but does not hold
	// what the manifest says: it is not a PKCS#12 file this package can
	// decode, or its certificate differs from the manifest's.
	ErrCorruptEntry = errors.New("keystore: corrupt entry file")

	// ErrNotExist means that there is no key store at the location.
	ErrNotExist = errors.New("keystore: key store does not exist")

	// ErrExist means that [Create] found a key store at the location.
	ErrExist = errors.New("keystore: key store already exists")

	// ErrMalformed means that imported data (PEM, PKCS#12, DER) cannot be
	// parsed, is larger than the import limit, or has an unexpected
	// structure.
	ErrMalformed = errors.New("keystore: malformed input")

	// ErrEncryptedKey means that a private key is encrypted and cannot be
	// decrypted: no password was given, or it uses an encryption scheme
	// this package does not implement.
	ErrEncryptedKey = errors.New("keystore: encrypted private key")

	// ErrUnsupportedKey means that a key is not an RSA key of at least
	// 2048 bits (1024 for a key in use with
	// [Options.AllowWeakRetainedKey]), or cannot be exported to a file
	// (it lives in hardware).
	ErrUnsupportedKey = errors.New("keystore: unsupported key")

	// ErrStatus means that the entry's status does not allow the
	// operation, such as setting an expiry on the current key or exporting
	// the certificate of a pending key. The error is an [*EntryError] with Status and Op.
	ErrStatus = errors.New("keystore: operation not allowed for entry status")

	// ErrNoCurrentKey means that the store has no current key, so no key
	// ring can be built, or that a change would leave retained keys
	// without a current one.
	ErrNoCurrentKey = errors.New("keystore: no current key")

	// ErrInvalidOptions means that an options struct holds a value that is
	// out of range.
	ErrInvalidOptions = errors.New("keystore: invalid options")

	// ErrInvalidState means that a state blob is not valid JSON.
	ErrInvalidState = errors.New("keystore: invalid state")

	// ErrStateNotFound means that the store holds no state blob of the
	// name.
	ErrStateNotFound = errors.New("keystore: state not found")

	// ErrClockBehind means that the store's clock shows a time before the
	// latest time the store has recorded (a commit, a key's creation or
	// hand-out): a wrong system clock, or a clock set back on purpose,
	// which would make retention periods end early. Nothing was changed.
	// The error is a [*Error] naming both times.
	ErrClockBehind = errors.New("keystore: clock is behind the store's latest recorded time")

	// ErrRetentionFloor means that a change would shorten the retention
	// of a key: move its expiry earlier than an expiry it had, or give a
	// key that was handed to a receiver an expiry less than
	// [MinRetention] away. The error is an [*EntryError] with Expires and Earliest.
	ErrRetentionFloor = errors.New("keystore: retention cannot be shortened")

	// ErrProvided means that the current key was to be removed
	// ([Tx.Remove]) although its certificate was handed to a receiver,
	// which may encrypt to it. The error is an [*EntryError].
	ErrProvided = errors.New("keystore: key was handed to a receiver")

	// ErrNotProvided means that a certificate was to be exported
	// ([Store.ExportCertificate]) for a key whose hand-out the store has
	// not recorded: record it first ([Tx.MarkProvided]), so that the key
	// can no longer be cancelled while a receiver may encrypt to it. The
	// error is an [*EntryError].
	ErrNotProvided = errors.New("keystore: hand-out of the certificate not recorded")

	// ErrOutcomeUnknown means that a change may or may not be committed:
	// an I/O error came after the new manifest was in place, such as a
	// failed sync of the directory, so readers see the change but a power
	// loss may still take it back. Open the store again to see what it
	// holds. The error is an [*Error].
	ErrOutcomeUnknown = errors.New("keystore: outcome of the change unknown")

	// ErrNoSpace means that the storage is full (ENOSPC, or a quota).
	// Nothing was changed unless the error also matches
	// [ErrOutcomeUnknown].
	ErrNoSpace = errors.New("keystore: no space left on the storage")

	// ErrReadOnly means that the storage cannot be written: a read-only
	// file system, or permissions that forbid writing.
	ErrReadOnly = errors.New("keystore: storage is read-only or not writable")

	// ErrTxDone means that a [Tx] was used after its [Store.Update]
	// function returned.
	ErrTxDone = errors.New("keystore: transaction already finished")

	// ErrKeyDisabled reports a message encrypted to a disabled key
	// (an [*EntryError] naming the key): its removal may have been early.
	ErrKeyDisabled = errors.New("keystore: message encrypted to a disabled key")

	// ErrInvalidTokenURI means that a pkcs11: URI is not one this package
	// accepts (see [TokenURI]).
	ErrInvalidTokenURI = errors.New("keystore: invalid pkcs11 URI")

	// ErrToken means that a PKCS#11 module or token failed: the module
	// does not load, the token is missing, the PIN is wrong, or the key is
	// not there or cannot decrypt.
	ErrToken = errors.New("keystore: PKCS#11 token failure")

	// ErrTokenUnavailable means that PKCS#11 tokens cannot be used: no
	// module is configured ([Options.Tokens] is nil; set it to the one of
	// package keystore/pkcs11), or that module was built without cgo
	// (build the program with CGO_ENABLED=1).
	ErrTokenUnavailable = errors.New("keystore: PKCS#11 support unavailable")

	// ErrConflict means that a versioned commit lost a race: the store
	// changed since it was read. [Store.Update] reads again and runs its
	// function again a few times, and returns an error wrapping
	// ErrConflict when the retries are used up.
	ErrConflict = errors.New("keystore: the store changed since it was read")

	// ErrNoRecords means that the store's backend keeps no records (it
	// does not implement [RecordBackend]), so it knows no holders and no
	// usage evidence.
	ErrNoRecords = errors.New("keystore: backend keeps no records")

	// ErrCorruptRecord means that a usage record of a holder cannot be
	// parsed.
	ErrCorruptRecord = errors.New("keystore: corrupt record")

	// ErrNotReady means that a [Follower] may not hold the store's
	// current keys: its last reload failed, or its holder record expired
	// because it could not be written, so renewals no longer wait for it.
	ErrNotReady = errors.New("keystore: follower not ready")
)

// EntryError reports a problem with one entry of the store: an operation
// its status does not allow (Err is [ErrStatus], with Status and Op), an
// expiry that would shorten its retention (Err is [ErrRetentionFloor],
// with Expires and Earliest), or another sentinel of this package.
type EntryError struct {
	// Alias names the entry.
	Alias string
	// Location is where the entry's key lives, such as a file path; empty
	// if the problem is not about the key's file.
	Location string
	// Status is the entry's status and Op the refused operation, such as
	// "Rotate", for [ErrStatus]; zero otherwise.
	Status Status
	Op     string
	// Expires is the refused expiry and Earliest the earliest expiry the
	// key may be given now, for [ErrRetentionFloor]; zero otherwise.
	Expires, Earliest time.Time
	// Fingerprint is the entry's certificate fingerprint, and DisabledAt
	// and DestroyAfter when it was disabled and when it is destroyed, for
	// [ErrKeyDisabled]: a message refused because it was encrypted to a
	// disabled key, evidence that the key was removed too early
	// ([Tx.Retain] puts it back); Cause is then the decryptor's refusal
	// (a [*wssec.KeyError] for [wssec.ErrNoMatchingKey]). Zero otherwise.
	Fingerprint              wssec.Fingerprint
	DisabledAt, DestroyAfter time.Time
	// Err is one of the sentinels of this package.
	Err error
	// Cause is the underlying error, if any, such as an I/O error.
	Cause error
}

func (e *EntryError) Error() string {
	switch e.Err {
	case ErrStatus:
		return fmt.Sprintf("keystore: operation not allowed for entry status: %s of %s entry %q", e.Op, e.Status, e.Alias)
	case ErrKeyDisabled:
		return fmt.Sprintf("keystore: message encrypted to disabled key %q (%s, disabled %s, destroyed after %s; restore it if receivers still use it): %v",
			e.Alias, e.Fingerprint.String(), e.DisabledAt.Format(time.RFC3339), e.DestroyAfter.Format(time.RFC3339), e.Cause)
	case ErrRetentionFloor:
		return fmt.Sprintf("keystore: retention cannot be shortened: entry %q may not expire at %s, the earliest allowed is %s",
			e.Alias, e.Expires.UTC().Format(time.RFC3339), e.Earliest.UTC().Format(time.RFC3339))
	}
	msg := fmt.Sprintf("%s: alias %q", errText(e.Err, "keystore: entry error"), e.Alias)
	if e.Location != "" {
		msg += ": " + e.Location
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel in Err and the Cause, those that are set.
func (e *EntryError) Unwrap() []error { return unwrapTwo(e.Err, e.Cause) }

// statusError refuses op for the entry alias of status st.
func statusError(alias string, st Status, op string) *EntryError {
	return &EntryError{Alias: alias, Status: st, Op: op, Err: ErrStatus}
}

// Error reports a failure that concerns no single entry: input that cannot
// be used (a key file, a certificate, the manifest), a PKCS#11 module or
// token, a clock behind the store, or a change whose outcome is unknown.
// It never holds key material, the data or a password.
type Error struct {
	// Err is the sentinel: for input, [ErrMalformed], [ErrWrongPassword],
	// [ErrEncryptedKey], [ErrUnsupportedKey], [ErrKeyMismatch] or
	// [ErrCorruptManifest]; for tokens, [ErrInvalidTokenURI], [ErrToken],
	// [ErrTokenUnavailable], [ErrNoPassword] or [ErrInvalidOptions];
	// [ErrClockBehind] (with Now and Latest); [ErrOutcomeUnknown] (with
	// Generation).
	Err error
	// Source names what failed: the input format ("PEM", "PKCS#12"), the
	// path of the manifest or of the file written, or the token URI;
	// empty if not known.
	Source string
	// Reason says what is wrong, without secrets.
	Reason string
	// Now is the clock's time and Latest the latest time the store has
	// recorded, for [ErrClockBehind]; zero otherwise.
	Now, Latest time.Time
	// Generation is the generation a change of unknown outcome would
	// have, for [ErrOutcomeUnknown]; zero if not known.
	Generation uint64
	// Cause is the underlying error, if any, such as a parse or I/O
	// error or the PKCS#11 module's error.
	Cause error
}

func (e *Error) Error() string {
	var msg string
	switch e.Err {
	case ErrClockBehind:
		msg = fmt.Sprintf("keystore: clock is behind the store's latest recorded time: the clock shows %s, the store recorded %s; correct the clock",
			e.Now.UTC().Format(time.RFC3339), e.Latest.UTC().Format(time.RFC3339))
	case ErrOutcomeUnknown:
		msg = "keystore: outcome of the change unknown: " + e.Source + " was replaced"
		if e.Generation != 0 {
			msg += fmt.Sprintf(" with generation %d", e.Generation)
		}
		msg += " but may not be durable; open the store again to see what it holds"
	default:
		msg = errText(e.Err, "keystore: error")
		if e.Source != "" {
			msg += ": " + e.Source
		}
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel in Err and the Cause, those that are set.
func (e *Error) Unwrap() []error { return unwrapTwo(e.Err, e.Cause) }

// unwrapTwo returns err and cause, those that are set.
func unwrapTwo(err, cause error) []error {
	var out []error
	for _, x := range []error{err, cause} {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// errText returns err's text, or fallback for a nil err, so that a typed
// error built without its sentinel still prints instead of panicking.
func errText(err error, fallback string) string {
	if err == nil {
		return fallback
	}
	return err.Error()
}
