package safecall

import (
	"errors"
	"strings"
	"testing"
)

func TestCall(t *testing.T) {
	want := errors.New("plain")
	if err := Call("Put", func() error { return want }); err != want {
		t.Fatalf("Call returned %v, want fn's error unchanged", err)
	}
	if err := Call("Put", func() error { return nil }); err != nil {
		t.Fatalf("Call returned %v, want nil", err)
	}

	cause := errors.New("boom")
	err := Call("Poll", func() error { panic(cause) })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Callback != "Poll" || pe.Value != cause || !errors.Is(err, cause) {
		t.Fatalf("Call after a panic = %#v, want a *PanicError for Poll wrapping the panic value", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "Poll panicked: boom") || !strings.Contains(msg, "safecall_test.go") {
		t.Fatalf("error text %q lacks the callback, the value or the panicking frame", msg)
	}
	if err := Call("Stop", func() error { panic("text") }); errors.Unwrap(err) != nil || !strings.Contains(err.Error(), "Stop panicked: text") {
		t.Fatalf("non-error panic value: %v", err)
	}
}

func TestCallAllocatesNothing(t *testing.T) {
	n := 0
	if a := testing.AllocsPerRun(100, func() {
		_ = Call("CommitRecord", func() error { n++; return nil })
	}); a != 0 {
		t.Fatalf("Call allocates %.0f times per call without a panic, want 0", a)
	}
}
