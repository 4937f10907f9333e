package errors

import (
	"fmt"
	"time"
)

// RestartPolicy restarts failed tasks (a Sluice extension; Kafka Connect
// never restarts a failed task by itself). It is off when MaxRestarts is 0.
// A task that failed is restarted after InitialDelay, doubling up to
// MaxDelay per consecutive restart, as long as fewer than MaxRestarts
// restarts happened within the last Window.
type RestartPolicy struct {
	MaxRestarts  int
	Window       time.Duration // default 10 minutes
	InitialDelay time.Duration // default 1 s
	MaxDelay     time.Duration // default 1 minute
}

// Enabled reports whether the policy restarts anything.
func (p RestartPolicy) Enabled() bool { return p.MaxRestarts > 0 }

// Validate reports negative settings.
func (p RestartPolicy) Validate() error {
	if p.MaxRestarts < 0 || p.Window < 0 || p.InitialDelay < 0 || p.MaxDelay < 0 {
		return fmt.Errorf("restart policy: values must be >= 0: %+v", p)
	}
	return nil
}
