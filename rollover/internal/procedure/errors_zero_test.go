package procedure_test

import (
	"testing"

	"github.com/wsrenew/wsrenew/internal/errtypes"
	"github.com/wsrenew/wsrenew/rollover/internal/procedure"
)

// TestErrorTypes_ZeroValue checks Error, Unwrap and errors.Is on the
// zero value of every error type of the package, which rollover exports.
func TestErrorTypes_ZeroValue(t *testing.T) {
	errtypes.CheckZero(t, "rollover: ", []error{
		&procedure.StageError{},
		&procedure.RemovalError{},
		&procedure.StateError{},
	})
}
