package xmlscan

import (
	"errors"
	"fmt"
)

// ErrSyntax is wrapped by errors about input that is not well-formed or not
// acceptable XML.
var ErrSyntax = errors.New("xmlscan: malformed XML")

// LimitError reports which limit the input exceeded.
type LimitError struct {
	Limit string
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("xmlscan: limit %s (%d) exceeded", e.Limit, e.Max)
}

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, args...)...)
}
