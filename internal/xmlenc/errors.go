package xmlenc

import (
	"errors"
	"fmt"
)

// ErrData is returned for every data decryption failure: a ciphertext of
// the wrong length, a bad CBC pad length or a GCM tag mismatch.
var ErrData = errors.New("xmlenc: data decryption failed")

// UnsupportedError reports an algorithm URI this package does not implement.
type UnsupportedError struct{ URI string }

func (e *UnsupportedError) Error() string { return "xmlenc: unsupported algorithm " + e.URI }

// ErrKeyTransport is returned when the private-key operation fails.
var ErrKeyTransport = errors.New("xmlenc: key transport decryption failed")

// ErrModel is wrapped by errors about EncryptedKey and EncryptedData
// elements that do not follow the schema closely enough to process.
var ErrModel = errors.New("xmlenc: malformed element")

// CountError reports too many elements of one kind.
type CountError struct {
	What string
	Max  int
}

func (e *CountError) Error() string { return fmt.Sprintf("xmlenc: more than %d %s", e.Max, e.What) }

func modelf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrModel}, args...)...)
}
