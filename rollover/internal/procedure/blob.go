package procedure

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wsrenew/wsrenew/keystore"
	"github.com/wsrenew/wsrenew/wssec"
)

const (
	// Version is the version of the state blobs' format.
	Version = 1

	// MaxIDLen bounds a receiver's or partner's ID, and MaxTextLen a
	// free text of the audit trail.
	MaxIDLen   = 128
	MaxTextLen = 1024
)

// Reader reads a key store state blob: what keystore.Tx.State and
// keystore.Store.ReadState have in common.
type Reader func(name string) ([]byte, error)

// Blobs is what a procedure's step uses of a key store transaction: the
// state blobs, the store's clock and the latest time the store
// recorded. *keystore.Tx implements it; a procedure that uses the store
// only as a blob store takes no more than this.
type Blobs interface {
	State(name string) ([]byte, error)
	SetState(name string, data []byte) error
	Time() time.Time
	Latest() time.Time
}

// Versioned is a blob with a format version.
type Versioned interface{ FormatVersion() int }

// LoadBlob decodes the blob name into v; a missing blob leaves v as it
// is. It returns a [*StateError] with [ErrCorruptState] for a blob that
// does not parse or has another version.
func LoadBlob(read Reader, name string, v Versioned) error {
	data, err := read(name)
	if errors.Is(err, keystore.ErrStateNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &StateError{Name: name, Reason: "cannot parse", Err: ErrCorruptState, Cause: err}
	}
	if v.FormatVersion() != Version {
		return &StateError{Name: name, Reason: fmt.Sprintf("unsupported version %d (want %d)", v.FormatVersion(), Version), Err: ErrCorruptState}
	}
	return nil
}

// SetBlob encodes v as the blob name.
func SetBlob(tx Blobs, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("rollover: encode %s: %w", name, err)
	}
	return tx.SetState(name, data)
}

// Hex writes a fingerprint as the state keeps it: lower-case hex.
func Hex(fp wssec.Fingerprint) string { return hex.EncodeToString(fp[:]) }

// ParseHex reads a fingerprint written by [Hex].
func ParseHex(s string) (wssec.Fingerprint, error) {
	var fp wssec.Fingerprint
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(fp) {
		return fp, errors.New("invalid fingerprint")
	}
	copy(fp[:], b)
	return fp, nil
}

// NormTime drops the monotonic reading and the location, so that times
// compare equal before and after a round trip through the store.
func NormTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

// NormTimes applies [NormTime] to each of ts.
func NormTimes(ts ...*time.Time) {
	for _, t := range ts {
		*t = NormTime(*t)
	}
}

// Clock returns the clock now, or time.Now if it is nil, as
// [NormTime] times.
func Clock(now func() time.Time) func() time.Time {
	if now == nil {
		now = time.Now
	}
	return func() time.Time { return NormTime(now()) }
}

// Later returns the later of a and b.
func Later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// DaysUntil returns the whole days from now until t, rounded down.
func DaysUntil(now, t time.Time) int {
	const day = 24 * time.Hour
	d := t.Sub(now)
	days := int(d / day)
	if d < 0 && d%day != 0 {
		days--
	}
	return days
}

// CheckText refuses a text over [MaxTextLen] bytes or not UTF-8 with
// [ErrInvalidArgument]; what names it.
func CheckText(what, s string) error {
	if len(s) > MaxTextLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be at most %d bytes of UTF-8", ErrInvalidArgument, what, MaxTextLen)
	}
	return nil
}

// CheckTexts applies [CheckText] to pairs of what and text.
func CheckTexts(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := CheckText(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// CheckID refuses an ID that is empty, over [MaxIDLen] bytes or not
// printable with [ErrInvalidArgument]; what names its kind.
func CheckID(what, id string) error {
	if id == "" || len(id) > MaxIDLen || !Printable(id) {
		return fmt.Errorf("%w: %s ID must be 1 to %d bytes of printable text", ErrInvalidArgument, what, MaxIDLen)
	}
	return nil
}

// Printable reports whether s is UTF-8 of printable characters.
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// JoinNote appends the caller's note to what a step did.
func JoinNote(what, note string) string {
	if note == "" {
		return what
	}
	return what + "; " + note
}
