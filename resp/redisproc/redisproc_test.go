package redisproc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestStartPingStop(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found (CI=true: the real-server tests must run); apt-get install redis-server")
		}
		t.Skip("redis-server not found; install it with: apt-get install redis-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Fatalf("Addr %q, want loopback", s.Addr)
	}
	if err := Ping(s.Addr, time.Second); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir
	s.Stop()
	s.Stop() // a second Stop does nothing
	if err := Ping(s.Addr, time.Second); err == nil {
		t.Fatal("the server still answers after Stop")
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("its directory is still there after Stop: %v", err)
	}
}

func TestStartNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background())
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Fatalf("Start without redis-server: %v, want ErrNotInstalled saying apt-get install redis-server", err)
	}
}

func TestPingRefusesWhatIsNotRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if err := Ping(closed, time.Second); err == nil {
		t.Fatal("Ping of a closed port succeeded")
	}
	web := httptest.NewServer(http.NotFoundHandler())
	defer web.Close()
	err = Ping(strings.TrimPrefix(web.URL, "http://"), time.Second)
	if err == nil || !strings.Contains(err.Error(), "is it a Redis server?") {
		t.Fatalf("Ping of an HTTP server: %v, want a message saying it is not Redis", err)
	}
}
