package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cleanup holds what must be undone on exit (children, the broker, the work
// directory), run last-in first-out by main, also after an error or Ctrl-C.
var cleanup cleanups

type cleanups struct {
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) add(f func()) {
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// child is a measured child process (a Kafka Connect JVM or a Sluice
// process). It runs in its own process group, gets SIGKILL if the harness
// dies (Pdeathsig), and is registered for cleanup.
type child struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when it exited
	state   *os.ProcessState
	err     error
	logPath string
}

func startChild(name string, argv []string, dir string, env []string, logPath string) (*child, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}), logPath: logPath}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	cleanup.add(func() { c.kill() })
	go func() {
		c.err = cmd.Wait()
		c.state = cmd.ProcessState
		out.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the child's process group (idempotent).
func (c *child) kill() {
	if c.exited() {
		return
	}
	syscall.Kill(-c.pid(), syscall.SIGKILL)
	<-c.done
}

// stop asks the child to stop (SIGTERM to its group) and kills it after grace.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		logf("%s did not stop within %s: killing it", c.name, grace)
		c.kill()
	}
}

// failure describes an early exit, with the tail of the child's log.
func (c *child) failure() error {
	return fmt.Errorf("%s exited early (%v); last lines of %s:\n%s", c.name, c.err, c.logPath, tail(c.logPath, 30))
}

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

// procStats are a live process's resource figures from /proc.
type procStats struct {
	cpu   time.Duration // user + system time of all threads so far
	hwmKB int64         // peak resident set size (VmHWM)
	rssKB int64         // current resident set size (VmRSS)
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 100

func readProcStats(pid int) (procStats, error) {
	var st procStats
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) may hold spaces: fields are counted after
	// its closing parenthesis; utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return st, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return st, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	stt, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return st, errors.New("malformed /proc stat times")
	}
	st.cpu = time.Duration(ut+stt) * time.Second / clockTick
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmHWM":
			st.hwmKB = parseKB(v)
		case "VmRSS":
			st.rssKB = parseKB(v)
		}
	}
	return st, nil
}

func parseKB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n
}

// loadAvg returns /proc/loadavg's first three fields.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
