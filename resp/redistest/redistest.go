// Package redistest starts a real redis-server for tests and benchmarks.
//
// Start runs Debian's redis-server (any redis-server on PATH) on a free
// loopback port, in a temporary directory, with persistence off, waits
// until it answers PING, and stops it when the test ends. Without
// redis-server on PATH the test is skipped with a message saying how to
// install it, except under CI=true, where that is a failure: CI must run
// the real-server tests.
//
// The package uses the standard library only, so any test can import it.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InstallHint is the message of a test skipped because redis-server is not
// on PATH.
const InstallHint = "redis-server not found; install it with: apt-get install redis-server"

// Server is a redis-server started by Start.
type Server struct {
	// Addr is the server's address, "127.0.0.1:port".
	Addr string
	// Dir is the server's working directory (a temporary directory,
	// removed when the test ends).
	Dir string

	bin  string
	args []string
	port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startAttempts is how many ports Start tries before it gives up: another
// process may take the port between the moment it was found free and the
// moment redis-server binds it.
const startAttempts = 5

// readyTimeout bounds the wait for a fresh server to answer PING.
const readyTimeout = 10 * time.Second

// Start starts a redis-server on a free loopback port with args appended to
// its command line (for example "--maxmemory", "10mb"), and waits until it
// answers PING. tb.Cleanup stops it. If redis-server is not on PATH, Start
// skips the test (tb.Fatal when the environment variable CI is "true").
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(InstallHint + " (CI=true: the real-server tests must run)")
		}
		tb.Skip(InstallHint)
	}
	s := &Server{Dir: tb.TempDir(), bin: bin, args: args}
	tb.Cleanup(s.Kill)
	var errs []error
	for range startAttempts {
		port, err := freePort()
		if err != nil {
			tb.Fatalf("redistest: no free loopback port: %v", err)
		}
		s.port = port
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := s.start(); err != nil {
			errs = append(errs, err)
			continue
		}
		return s
	}
	tb.Fatalf("redistest: redis-server did not start after %d attempts: %v", startAttempts, errors.Join(errs...))
	return nil
}

// Restart starts the server again on the same port, after Kill, and waits
// until it answers PING. The data is gone: persistence is off. It retries
// for a few seconds if the port is not free yet.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Kill()
	var err error
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("redistest: restarting redis-server on %s: %v", s.Addr, err)
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Kill on a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // it may have exited already
	<-done
}

// start runs redis-server on s.port and waits until it answers PING, or
// fails if it exits first (its port was taken) or does not answer in time.
func (s *Server) start() error {
	argv := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
		"--logfile", "",
	}
	argv = append(argv, s.args...)
	cmd := exec.Command(s.bin, argv...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a killed server says nothing
		close(done)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited at start: %s", lastLines(out.String()))
		default:
		}
		if ping(s.Addr) == nil {
			s.mu.Lock()
			s.cmd, s.done = cmd, done
			s.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on %s did not answer PING within %v", s.Addr, readyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ping sends one PING to addr and checks for +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
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

// lastLines returns the last few lines of a server's output, for an error.
func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
