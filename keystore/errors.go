package keystore

import (
	"errors"
	"fmt"
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
	// a rule of the store. The error is a [*ManifestError] naming the file.
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
	// 2048 bits, or cannot be exported to a file (it lives in hardware).
	ErrUnsupportedKey = errors.New("keystore: unsupported key")

	// ErrStatus means that the entry's status does not allow the
	// operation, such as setting an expiry on the current key or exporting
	// the certificate of a pending key. The error is a [*StatusError].
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

	// ErrTxDone means that a [Tx] was used after its [Store.Update]
	// function returned.
	ErrTxDone = errors.New("keystore: transaction already finished")

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
)

// ManifestError reports a manifest that cannot be used.
type ManifestError struct {
	// Path is where the manifest lives, such as its file path.
	Path string
	// Reason says what is wrong, without secrets.
	Reason string
	// Err is the underlying parse error, if any.
	Err error
}

func (e *ManifestError) Error() string {
	msg := "keystore: corrupt manifest " + e.Path
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns [ErrCorruptManifest] and the underlying error, if any.
func (e *ManifestError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrCorruptManifest}
	}
	return []error{ErrCorruptManifest, e.Err}
}

// EntryError reports a problem with one entry of the store.
type EntryError struct {
	// Alias names the entry.
	Alias string
	// Location is where the entry's key lives, such as a file path; empty
	// if the problem is not about the key's file.
	Location string
	// Err is one of the sentinels of this package.
	Err error
	// Cause is the underlying error, if any, such as an I/O error.
	Cause error
}

func (e *EntryError) Error() string {
	msg := fmt.Sprintf("%v: alias %q", e.Err, e.Alias)
	if e.Location != "" {
		msg += ": " + e.Location
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel in Err and the Cause, if any.
func (e *EntryError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// StatusError reports an operation that the entry's status does not allow.
type StatusError struct {
	Alias  string
	Status Status
	// Op names the refused operation, such as "SetExpiry".
	Op string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("keystore: operation not allowed for entry status: %s of %s entry %q", e.Op, e.Status, e.Alias)
}

// Unwrap returns [ErrStatus].
func (e *StatusError) Unwrap() error { return ErrStatus }

// ParseError reports imported data that cannot be used. It never holds the
// data itself or a password.
type ParseError struct {
	// Format is the input format, such as "PKCS#12" or "PEM".
	Format string
	// Reason says what is wrong.
	Reason string
	// Err is one of the sentinels of this package: [ErrMalformed],
	// [ErrWrongPassword], [ErrEncryptedKey], [ErrUnsupportedKey] or
	// [ErrKeyMismatch].
	Err error
	// Cause is the underlying parse error, if any.
	Cause error
}

func (e *ParseError) Error() string {
	msg := fmt.Sprintf("%v (%s)", e.Err, e.Format)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel in Err and the Cause, if any.
func (e *ParseError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}
