// Package safecall turns a panic in connector code (a task or connector
// callback) into an error, so that the runtime fails that task instead of
// crashing the host process, as Kafka Connect catches every Throwable a task
// throws.
package safecall

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic recovered from a callback: the callback's name, the
// value passed to panic and the goroutine's stack at the panic. Its Error
// text holds all three, so the status trace and the task's log line show
// where the task panicked.
type PanicError struct {
	// Callback names what panicked, e.g. "Poll" or "connector TaskConfigs".
	Callback string
	// Value is the value given to panic.
	Value any
	// Stack is the stack trace of the panicking goroutine.
	Stack []byte
}

// Call calls fn, a call into connector code named callback ("Poll",
// "PreCommit", …), and returns its error, or a *PanicError with the panic
// value and stack when it panicked. It allocates nothing when fn does not
// panic (fn does not escape).
func Call(callback string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = New(callback, v)
		}
	}()
	return fn()
}

// New returns the PanicError for value v recovered from callback; call it
// from the deferred function that called recover, so the stack is the
// panic's.
func New(callback string, v any) *PanicError {
	return &PanicError{Callback: callback, Value: v, Stack: debug.Stack()}
}

// Error implements error.
func (e *PanicError) Error() string {
	return fmt.Sprintf("%s panicked: %v\n%s", e.Callback, e.Value, e.Stack)
}

// Unwrap returns the panic value when it is an error (panic(err)), else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
