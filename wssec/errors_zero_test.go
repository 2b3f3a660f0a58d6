package wssec_test

import (
	"testing"

	"github.com/wsrenew/wsrenew/internal/errtypes"
	"github.com/wsrenew/wsrenew/wssec"
)

// TestErrorTypes_ZeroValue instantiates every exported error type of the
// package zero-valued and checks that Error, Unwrap and errors.Is do not
// panic. The list of types is read from the package's source, so a new
// error type without an entry here fails the test.
func TestErrorTypes_ZeroValue(t *testing.T) {
	errtypes.CheckZero(t, "wssec: ", []error{
		&wssec.MessageError{},
		&wssec.KeyError{},
		&wssec.FaultError{},
		&wssec.TransportError{},
		&wssec.NoMatchingKeyError{},
	})
}
