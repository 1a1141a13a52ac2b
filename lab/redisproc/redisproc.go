// Package redisproc starts a throwaway redis-server for the lab: on a free
// loopback port, in a temporary directory, with persistence off, and
// stops it (removing the directory) when asked. It is what
// "zerogc load --route redis --redis start" runs. It uses the standard
// library only; tests use resp/redistest, which needs a testing.TB.
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

// Server is a redis-server started by Start.
type Server struct {
	// Addr is its address, 127.0.0.1:port.
	Addr string
	// PID is its process id.
	PID int

	dir      string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	stopOnce sync.Once
}

// Start runs redis-server (found on PATH) and returns once it answers
// PING, within ctx. Another process can take the free port it picked
// before redis-server binds it; Start then tries another port, 3 times in
// all.
func Start(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	var errs []error
	for range 3 {
		s, err := start(ctx, bin)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("redisproc: redis-server did not start: %w", errors.Join(errs...))
}

func start(ctx context.Context, bin string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "zerogc-redis-")
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "")
	// A process group of its own: Ctrl-C on the terminal interrupts the
	// load, which then stops the server, and does not kill it under the
	// run's last requests.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	diesWithParent(s.cmd.SysProcAttr)
	var out lockedBuffer
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	s.PID = s.cmd.Process.Pid
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	for {
		if err := Ping(s.Addr, time.Second); err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			s.Stop()
			return nil, fmt.Errorf("redis-server on port %d exited at start: %s", port, out.tail())
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("redis-server on port %d did not answer PING: %w", port, context.Cause(ctx))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the server (SIGTERM, SIGKILL after 5 s), waits for it to exit
// and removes its directory. Stop can be called more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		os.RemoveAll(s.dir)
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
