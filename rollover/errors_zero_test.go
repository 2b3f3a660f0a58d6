package rollover_test

import (
	"testing"

	"github.com/wsrenew/wsrenew/internal/errtypes"
	"github.com/wsrenew/wsrenew/rollover"
)

// TestErrorTypes_ZeroValue instantiates every exported error type of the
// package zero-valued and checks that Error, Unwrap and errors.Is do not
// panic. The list of types is read from the package's source, so a new
// error type without an entry here fails the test. The error types
// rollover shares with package rollover/signer are aliases, checked in
// their package, rollover/internal/procedure.
func TestErrorTypes_ZeroValue(t *testing.T) {
	errtypes.CheckZero(t, "rollover: ", []error{
		&rollover.SelfTestError{},
		&rollover.HoldersError{},
	})
}
