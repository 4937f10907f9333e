//go:build !linux

package conformance

import "os/exec"

// setDeathSignal is Linux-only; elsewhere Close and the context stop the
// JVM.
func setDeathSignal(*exec.Cmd) {}
