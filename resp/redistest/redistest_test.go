package redistest_test

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zerogc/zerogc/resp/redistest"
)

// roundTrip sends one inline command and returns the first reply line.
func roundTrip(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestStartKillRestart(t *testing.T) {
	s := redistest.Start(t)
	if !strings.HasPrefix(s.Addr, "127.0.0.1:") {
		t.Fatalf("Addr = %q, want a loopback address", s.Addr)
	}
	if got, err := roundTrip(s.Addr, "SET k v"); err != nil || got != "+OK" {
		t.Fatalf("SET: %q, %v", got, err)
	}
	// Persistence is off.
	if got, err := roundTrip(s.Addr, "CONFIG GET appendonly"); err != nil || got != "*2" {
		t.Fatalf("CONFIG GET: %q, %v", got, err)
	}
	s.Kill()
	if _, err := roundTrip(s.Addr, "PING"); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Kill() // a second Kill does nothing
	s.Restart(t)
	if got, err := roundTrip(s.Addr, "GET k"); err != nil || got != "$-1" {
		t.Fatalf("GET after restart: %q, %v (want a nil reply: no persistence)", got, err)
	}
}

func TestStartPassesArgs(t *testing.T) {
	s := redistest.Start(t, "--maxmemory", "12345678")
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("CONFIG GET maxmemory\r\n"))
	r := bufio.NewReader(c)
	var lines []string
	for range 5 {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(l))
	}
	if lines[4] != "12345678" {
		t.Fatalf("maxmemory = %q, want 12345678 (reply %q)", lines[4], lines)
	}
}

func TestTwoServersAtOnce(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("two servers on %s", a.Addr)
	}
	for _, s := range []*redistest.Server{a, b} {
		if got, err := roundTrip(s.Addr, "PING"); err != nil || got != "+PONG" {
			t.Fatalf("%s: %q, %v", s.Addr, got, err)
		}
	}
}

// recorder is a testing.TB that records how Start ended the test.
type recorder struct {
	testing.TB
	how, msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.how, r.msg = "skip", fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) {
	r.how, r.msg = "fatal", fmt.Sprint(args...)
	runtime.Goexit()
}

// startWithout runs Start with no redis-server on PATH and returns how it
// ended the test.
func startWithout(t *testing.T, ci string) *recorder {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("CI", ci)
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(r)
	}()
	<-done
	return r
}

func TestMissingServerSkipsLocallyFailsOnCI(t *testing.T) {
	if r := startWithout(t, ""); r.how != "skip" || !strings.Contains(r.msg, "apt-get install redis-server") {
		t.Errorf("without CI: %s %q, want a skip saying how to install", r.how, r.msg)
	}
	if r := startWithout(t, "true"); r.how != "fatal" || !strings.Contains(r.msg, "apt-get install redis-server") {
		t.Errorf("CI=true: %s %q, want a failure", r.how, r.msg)
	}
}
