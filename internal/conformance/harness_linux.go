package conformance

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the JVM when the test process dies,
// so a killed or timed-out go test never leaves a JVM behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
