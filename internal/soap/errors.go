package soap

import (
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by errors about a document that is well-formed XML
// but not an acceptable SOAP message: no SOAP envelope, an ambiguous Id.
var ErrSyntax = errors.New("soap: malformed XML")

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}
