package sink

import (
	"errors"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/safecall"
)

// isPanic reports whether err is (or wraps) a panic recovered by
// safecall.Call.
func isPanic(err error) bool {
	var pe *safecall.PanicError
	return errors.As(err, &pe)
}

// retriable reports whether err asks for the same operation again: marked
// with connect.Retriable, and not a panic (even of a retriable error value).
func retriable(err error) bool {
	return connect.IsRetriable(err) && !isPanic(err)
}
