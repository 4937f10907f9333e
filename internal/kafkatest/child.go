package kafkatest

import "os/exec"

// DieWithTest makes the kernel kill cmd's process (SIGKILL) when the test
// process that starts it dies, so a test that re-executes itself as a child
// (a crash test killing and restarting the child) never leaves a child
// running after a timeout, a panic or a kill of the test. Call it before
// cmd.Start; it replaces cmd.SysProcAttr. On Linux it sets the parent-death
// signal, which fires when the thread that started the child exits: the Go
// runtime keeps its threads, so in practice that is when the process dies.
// Elsewhere it does nothing, and the test must kill its children itself
// (t.Cleanup), as it should anyway.
func DieWithTest(cmd *exec.Cmd) { setDeathSignal(cmd) }
