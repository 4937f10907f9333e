//go:build !linux

package kafkatest

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death signal:
// t.Cleanup alone stops the broker there.
func setDeathSignal(*exec.Cmd) {}
