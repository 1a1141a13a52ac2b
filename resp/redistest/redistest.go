// Package redistest starts a real redis-server for tests and benchmarks.
//
// Start runs Debian's redis-server (any redis-server on PATH) through
// package resp/redisproc: on a free loopback port, in a temporary
// directory, with persistence off; it waits until the server answers PING,
// and stops it when the test ends. Without redis-server on PATH the test is
// skipped with a message saying how to install it, except under CI=true,
// where that is a failure: CI must run the real-server tests.
//
// The package uses the standard library only, so any test can import it.
package redistest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/zerogc/zerogc/resp/redisproc"
)

// InstallHint is the message of a test skipped because redis-server is not
// on PATH.
const InstallHint = "redis-server not found; install it with: apt-get install redis-server"

// readyTimeout bounds the wait for a fresh server to answer PING.
const readyTimeout = 10 * time.Second

// Server is a redis-server started by Start.
type Server struct {
	// Addr is the server's address, "127.0.0.1:port".
	Addr string
	// Dir is the server's working directory (a temporary directory,
	// removed when the test ends).
	Dir string

	p *redisproc.Server
}

// Start starts a redis-server on a free loopback port with args appended to
// its command line (for example "--maxmemory", "10mb"), and waits until it
// answers PING. tb.Cleanup stops it. If redis-server is not on PATH, Start
// skips the test (tb.Fatal when the environment variable CI is "true").
func Start(tb testing.TB, args ...string) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	p, err := redisproc.Start(ctx, args...)
	if errors.Is(err, redisproc.ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			tb.Fatal(InstallHint + " (CI=true: the real-server tests must run)")
		}
		tb.Skip(InstallHint)
	}
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() { p.Kill(); p.Stop() })
	return &Server{Addr: p.Addr, Dir: p.Dir, p: p}
}

// Restart starts the server again on the same port, after Kill, and waits
// until it answers PING. The data is gone: persistence is off. It retries
// for a few seconds if the port is not free yet.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.p.Restart(ctx); err != nil {
		tb.Fatalf("redistest: restarting redis-server on %s: %v", s.Addr, err)
	}
}

// Kill stops the server with SIGKILL, as a crash would, and waits for it to
// exit. Kill on a stopped server does nothing.
func (s *Server) Kill() { s.p.Kill() }
