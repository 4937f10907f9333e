package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// child is a process the suite started (a worker, Kafka Connect). It runs
// in its own process group, gets SIGKILL if the test binary dies
// (Pdeathsig) and is killed by t.Cleanup at the latest.
type child struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{} // closed when it exited
	err     error
	logPath string
}

// startChild starts argv in dir with extra env, its output appended to
// logPath.
func startChild(t testing.TB, name string, argv []string, dir string, env []string, logPath string) *child {
	t.Helper()
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(out, "\n===== %s: starting %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	t.Cleanup(c.kill)
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the child's process group and waits for the child
// (idempotent).
func (c *child) kill() {
	if c.exited() {
		return
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// stop asks the child to stop (SIGTERM to its group) and kills it after
// grace; it reports whether the child stopped by itself.
func (c *child) stop(grace time.Duration) bool {
	if c.exited() {
		return true
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
		return true
	case <-time.After(grace):
		c.kill()
		return false
	}
}

// failure describes an early exit, with the tail of the child's log.
func (c *child) failure() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", c.name, c.err, c.logPath, tail(c.logPath, 40))
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
