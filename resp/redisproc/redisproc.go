// Package redisproc starts a throwaway redis-server: on a free loopback
// port, in a temporary directory, with persistence off. It is what
// "zerogc load --route redis --redis start" runs, and what package
// resp/redistest wraps for tests. It uses the standard library only.
//
// The server runs in a process group of its own and, on Linux, is killed by
// the kernel when the process that started it dies, so that a starter ended
// by SIGKILL leaves no redis-server behind.
package redisproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled is returned (wrapped) by Start when redis-server is not
// on PATH.
var ErrNotInstalled = errors.New("redis-server is not installed (not on PATH): install it with apt-get install redis-server, or give the address of a running one (--redis HOST:PORT)")

// startAttempts is how many ports Start tries before it gives up: another
// process may take the port between the moment it was found free and the
// moment redis-server binds it.
const startAttempts = 5

// Server is a redis-server started by Start.
type Server struct {
	// Addr is its address, 127.0.0.1:port. Restart keeps it.
	Addr string
	// Dir is its working directory, a temporary directory that Stop
	// removes.
	Dir string

	bin  string
	args []string // the command line after the binary

	mu       sync.Mutex
	pid      int
	cmd      *exec.Cmd     // nil once killed or stopped
	exited   chan struct{} // closed when cmd has exited
	stopOnce sync.Once
}

// Start runs redis-server (found on PATH) with args appended to its command
// line (for example "--maxmemory", "10mb"), and returns once it answers
// PING, within ctx. If the free port it picked is taken before redis-server
// binds it, Start tries another, 5 ports in all.
func Start(ctx context.Context, args ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "zerogc-redis-")
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	var errs []error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			errs = append(errs, err)
			break
		}
		s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir, bin: bin}
		s.args = append([]string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--daemonize", "no",
			"--protected-mode", "no", "--logfile", "",
		}, args...)
		if err = s.start(ctx); err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("redisproc: redis-server did not start: %w", errors.Join(errs...))
}

// PID returns the process id of the running server, or 0 after Kill or
// Stop.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.pid
}

// start runs the server and waits until it answers PING, or fails if it
// exits first (its port was taken) or ctx ends.
func (s *Server) start(ctx context.Context) error {
	cmd := exec.Command(s.bin, s.args...)
	// A process group of its own: Ctrl-C on the terminal interrupts the
	// load, which then stops the server, and does not kill it under the
	// run's last requests.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	diesWithParent(cmd.SysProcAttr)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a killed server says nothing
		close(exited)
	}()
	for {
		if Ping(s.Addr, time.Second) == nil {
			s.mu.Lock()
			s.cmd, s.exited, s.pid = cmd, exited, cmd.Process.Pid
			s.mu.Unlock()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start: %s", s.Addr, out.tail())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on %s did not answer PING: %w", s.Addr, context.Cause(ctx))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Its directory stays, for Restart. Kill on a stopped server does
// nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // it may have exited already
	<-exited
}

// Restart starts the server again on the same port and directory, after
// Kill, and waits until it answers PING, within ctx. The data is gone:
// persistence is off. While the old port is not free yet it retries.
func (s *Server) Restart(ctx context.Context) error {
	s.Kill()
	for {
		err := s.start(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server (SIGINT, then SIGKILL after 5 s), waits for it to
// exit and removes its directory. Stop can be called more than once, and
// after Kill.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		cmd, exited := s.cmd, s.exited
		s.cmd = nil
		s.mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		os.RemoveAll(s.Dir)
	})
}

// Ping sends PING to the Redis server at addr and checks that it answers
// PONG within timeout. It tells an unreachable address, or one that is not
// Redis, from a working one.
func Ping(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer to PING from %s: %w", addr, err)
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("%s answered PING with %q: is it a Redis server?", addr, strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects a process's output for an error message.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 16<<10 {
		l.b.Write(p)
	}
	return len(p), nil
}

// tail returns the last lines written, on one line.
func (l *lockedBuffer) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(l.b.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-4):], " | ")
}
