package sink

import (
	"errors"

	"github.com/sluicehq/sluice/connect"
	"github.com/sluicehq/sluice/internal/safecall"
)

// guard calls fn, a call into connector code named callback ("Put",
// "PreCommit", …), and returns its error, or a *safecall.PanicError with the
// panic value and stack when it panicked: a panicking task fails, the host
// process lives on (Kafka Connect catches every Throwable of a task).
func guard(callback string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = safecall.New(callback, v)
		}
	}()
	return fn()
}

// isPanic reports whether err is (or wraps) a panic recovered by guard.
func isPanic(err error) bool {
	var pe *safecall.PanicError
	return errors.As(err, &pe)
}

// retriable reports whether err asks for the same operation again: marked
// with connect.Retriable, and not a panic (even of a retriable error value).
func retriable(err error) bool {
	return connect.IsRetriable(err) && !isPanic(err)
}
