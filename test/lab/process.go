package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a long-running program under test (an agent, the controller,
// a helper daemon). Its stdout and stderr go to a log file in the lab dir.
type Process struct {
	Name    string
	LogPath string

	lab    *Lab
	argv   []string
	env    []string
	stdout *os.File // if set, stdout goes here instead of the log

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
	err  error         // cmd.Wait's result, valid after done
}

// Start runs bin in netns (a namespace name or path; "" for the root
// namespace) through `nsenter --net`, which, unlike `ip netns exec`, keeps
// the real /sys and cgroups visible. env is added to the test's environment.
// Output goes to <Dir>/<name>.log. The process is stopped in cleanup.
func (l *Lab) Start(name, netns string, env []string, bin string, args ...string) *Process {
	l.t.Helper()
	if name == "" || strings.ContainsAny(name, "/ ") {
		l.t.Fatalf("lab: bad process name %q", name)
	}
	argv := append([]string{bin}, args...)
	if netns != "" {
		argv = append([]string{"nsenter", "--net=" + netnsPath(netns), "--"}, argv...)
	}
	p := l.newProcess(name, filepath.Join(l.Dir, name+".log"), env, argv)
	l.mu.Lock()
	for _, q := range l.procs {
		if q.Name == name {
			l.mu.Unlock()
			l.t.Fatalf("lab: process %q already exists", name)
		}
	}
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	if err := p.start(); err != nil {
		l.t.Fatalf("lab: %v", err)
	}
	return p
}

func (l *Lab) newProcess(name, logPath string, env, argv []string) *Process {
	return &Process{Name: name, LogPath: logPath, lab: l, argv: argv, env: env}
}

func (p *Process) start() error {
	f, err := os.OpenFile(p.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	defer f.Close()
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	if p.stdout != nil {
		cmd.Stdout = p.stdout
	}
	// Own process group so stragglers can be killed with it; SIGKILL if
	// the test binary dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	pid := cmd.Process.Pid
	p.lab.recordPid(pid)
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.mu.Unlock()
	go func() {
		// Wait for the exit without reaping: while the leader is an unreaped
		// zombie its pid, and so the process group id, cannot be reused, so
		// killing the group hits only what it left behind.
		var info unix.Siginfo
		for unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil) == unix.EINTR {
		}
		syscall.Kill(-pid, syscall.SIGKILL)
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid returns the pid of the current (or last) run, 0 if never started.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Wait waits up to timeout for the process to exit by itself and returns
// its exit error (nil for status 0).
func (p *Process) Wait(timeout time.Duration) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return fmt.Errorf("%s was never started", p.Name)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %v", p.Name, timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.Name, p.err)
	}
	return nil
}

// Stop sends SIGTERM, waits up to 10 s, then SIGKILLs the process group.
// It returns nil if the process exited with status 0 or by the SIGTERM, an
// error if it had to be killed or had already failed.
func (p *Process) Stop() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("%s was never started", p.Name)
	}
	select {
	case <-done:
		return p.exitErr()
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s: %w", p.Name, err)
	}
	select {
	case <-done:
		return p.exitErr()
	case <-time.After(10 * time.Second):
	}
	p.Kill()
	return fmt.Errorf("%s ignored SIGTERM for 10s and was killed", p.Name)
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	if p.err != nil {
		return fmt.Errorf("%s: %w", p.Name, p.err)
	}
	return nil
}

// Kill sends SIGKILL to the process and its group and waits for it.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	// Safe: until done is closed the leader is not reaped, so the group id is still ours.
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.lab.t.Errorf("lab: %s (pid %d) did not die within 10s of SIGKILL", p.Name, cmd.Process.Pid)
	}
}

// Restart stops the process if it runs and starts the same command again,
// appending to the same log.
func (p *Process) Restart() {
	p.lab.t.Helper()
	if p.Running() {
		if err := p.Stop(); err != nil {
			p.lab.t.Logf("lab: restart: %v", err)
		}
	}
	if err := p.start(); err != nil {
		p.lab.t.Fatalf("lab: restart: %v", err)
	}
}

// Log returns everything the process wrote so far (all runs).
func (p *Process) Log() string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

func (p *Process) state() string {
	if p.Running() {
		return fmt.Sprintf("running, pid %d", p.Pid())
	}
	if err := p.exitErr(); err != nil {
		return "exited: " + err.Error()
	}
	return "exited"
}
