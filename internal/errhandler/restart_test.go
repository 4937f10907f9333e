package errhandler

import (
	"context"
	"errors"
	"testing"
	"time"

	sluiceerrors "github.com/sluicehq/sluice/errors"
)

// TestRestarterDisabled: the zero policy never restarts.
func TestRestarterDisabled(t *testing.T) {
	p := sluiceerrors.RestartPolicy{}
	if p.Enabled() {
		t.Fatal("zero policy enabled")
	}
	r := NewRestarter(p)
	for i := 0; i < 5; i++ {
		if d, ok := r.Next(epoch.Add(time.Duration(i) * time.Hour)); ok || d != 0 {
			t.Fatalf("Next = (%v, %v), want (0, false)", d, ok)
		}
	}
	if r.Count() != 0 {
		t.Errorf("Count = %d", r.Count())
	}
}

// TestRestarterBackoff: delays 1 s, 2 s, 4 s ... up to MaxDelay (defaults
// 1 s and 1 minute).
func TestRestarterBackoff(t *testing.T) {
	r := NewRestarter(sluiceerrors.RestartPolicy{MaxRestarts: 100, Window: 24 * time.Hour})
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	now := epoch
	for i, w := range want {
		d, ok := r.Next(now)
		if !ok || d != w*time.Second {
			t.Fatalf("restart %d: (%v, %v), want (%v, true)", i+1, d, ok, w*time.Second)
		}
		now = now.Add(d + time.Second)
	}
	if r.Count() != len(want) {
		t.Errorf("Count = %d, want %d", r.Count(), len(want))
	}

	custom := NewRestarter(sluiceerrors.RestartPolicy{MaxRestarts: 100, InitialDelay: 100 * time.Millisecond, MaxDelay: 500 * time.Millisecond})
	var got []time.Duration
	for i := 0; i < 5; i++ {
		d, _ := custom.Next(epoch.Add(time.Duration(i) * time.Second))
		got = append(got, d)
	}
	if w := msList(100, 200, 400, 500, 500); !equalDurations(got, w) {
		t.Errorf("custom delays %v, want %v", got, w)
	}

	// Far beyond the shift width the delay stays at MaxDelay.
	many := NewRestarter(sluiceerrors.RestartPolicy{MaxRestarts: 100, Window: 24 * time.Hour, MaxDelay: 365 * 24 * time.Hour})
	for i := 0; i < 70; i++ {
		d, ok := many.Next(epoch.Add(time.Duration(i) * time.Second))
		if !ok || d <= 0 || d > 365*24*time.Hour {
			t.Fatalf("restart %d: (%v, %v)", i+1, d, ok)
		}
	}
}

// TestRestarterGivesUp: no more than MaxRestarts restarts within Window;
// restarts older than Window are forgotten (and the backoff restarts with
// them).
func TestRestarterGivesUp(t *testing.T) {
	r := NewRestarter(sluiceerrors.RestartPolicy{MaxRestarts: 3, Window: 10 * time.Minute})
	for i, at := range []time.Duration{0, time.Minute, 2 * time.Minute} {
		if d, ok := r.Next(epoch.Add(at)); !ok || d != time.Second<<i {
			t.Fatalf("restart %d: (%v, %v)", i+1, d, ok)
		}
	}
	if d, ok := r.Next(epoch.Add(5 * time.Minute)); ok || d != 0 {
		t.Fatalf("4th restart within the window: (%v, %v), want (0, false)", d, ok)
	}
	// Just before the first restart leaves the window: still refused.
	if _, ok := r.Next(epoch.Add(10*time.Minute - time.Nanosecond)); ok {
		t.Fatal("restart granted while 3 restarts are within the window")
	}
	// At 10 min the first is forgotten: 2 remain, so the delay is 1 s << 2.
	if d, ok := r.Next(epoch.Add(10 * time.Minute)); !ok || d != 4*time.Second {
		t.Fatalf("after the first aged out: (%v, %v), want (4s, true)", d, ok)
	}
	if r.Count() != 4 {
		t.Errorf("Count = %d, want 4 (refusals are not counted)", r.Count())
	}
	// Much later, all are forgotten: the backoff starts again at 1 s.
	if d, ok := r.Next(epoch.Add(time.Hour)); !ok || d != time.Second {
		t.Fatalf("after a quiet hour: (%v, %v), want (1s, true)", d, ok)
	}
	if r.Count() != 5 {
		t.Errorf("Count = %d, want 5", r.Count())
	}
}

func TestSuperviseRestartsUntilSuccessOrGivesUp(t *testing.T) {
	ctx := context.Background()
	fail := errors.New("boom")
	var runs, restarts []int
	n := 0
	err := Supervise(ctx, sluiceerrors.RestartPolicy{MaxRestarts: 3, InitialDelay: time.Millisecond},
		func(context.Context) error {
			n++
			runs = append(runs, n)
			if n < 3 {
				return fail
			}
			return nil
		},
		func(err error, count int, _ time.Duration) {
			if err != fail {
				t.Errorf("restart told %v", err)
			}
			restarts = append(restarts, count)
		},
		func() { t.Error("cancelled called") })
	if err != nil || len(runs) != 3 || len(restarts) != 2 || restarts[1] != 2 {
		t.Fatalf("err %v runs %v restarts %v; want success on the 3rd run after 2 restarts", err, runs, restarts)
	}
	n = 0
	err = Supervise(ctx, sluiceerrors.RestartPolicy{MaxRestarts: 1, InitialDelay: time.Millisecond},
		func(context.Context) error { n++; return fail }, func(error, int, time.Duration) {}, func() {})
	if !errors.Is(err, fail) || n != 2 {
		t.Fatalf("gave up with %v after %d runs; want the failure after 2 runs", err, n)
	}
	n = 0
	if err := Supervise(ctx, sluiceerrors.RestartPolicy{}, func(context.Context) error { n++; return fail }, nil, nil); !errors.Is(err, fail) || n != 1 {
		t.Fatalf("policy off: %v after %d runs", err, n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancelled := false
	err = Supervise(cctx, sluiceerrors.RestartPolicy{MaxRestarts: 5, InitialDelay: time.Hour},
		func(context.Context) error { return fail },
		func(error, int, time.Duration) { cancel() },
		func() { cancelled = true })
	if err != nil || !cancelled {
		t.Fatalf("cancel during the wait: %v, cancelled=%v; want nil and the cancelled hook", err, cancelled)
	}
}
