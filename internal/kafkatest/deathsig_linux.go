package kafkatest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the JVM when the test process dies,
// so a timed-out or killed go test never leaves a broker behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
