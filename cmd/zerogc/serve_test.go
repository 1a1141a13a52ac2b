package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// envRunCLI makes the test binary run "zerogc" with its arguments, so that
// a test can start the real command in a process of its own and signal it.
const envRunCLI = "ZEROGC_TEST_RUN_CLI"

func init() {
	if os.Getenv(envRunCLI) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
}

var listeningRE = regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/api/values) \(pid (\d+)\)`)

// Point 14 of issue 11: "zerogc serve" serves the sample API until SIGINT
// or SIGTERM, printing its address first, and exits 0.
func TestIssue11_14_Serve(t *testing.T) {
	for _, tc := range []struct {
		flavor, gc string
		sig        syscall.Signal
		header     string
	}{
		{"zero", "off", syscall.SIGINT, ""},
		{"nethttp", "limit=64MiB", syscall.SIGTERM, "application/json; charset=utf-8"},
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			p := startServe(t, "serve", "--flavor", tc.flavor, "--gc", tc.gc, "--addr", "127.0.0.1:0")
			line := p.firstLine(t, 20*time.Second)
			m := listeningRE.FindStringSubmatch(line)
			if m == nil || !strings.Contains(line, tc.flavor+" gc="+tc.gc) {
				t.Fatalf("first line %q: want the flavor, gc mode, URL and pid; stderr %s", line, p.stderr.String())
			}
			c := &http.Client{Timeout: 5 * time.Second}
			for range 3 {
				resp, err := c.Get(m[1])
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !regexp.MustCompile(`^\["\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","value2"\]`+"\n$").Match(body) {
					t.Fatalf("GET %s: %s %q", m[1], resp.Status, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Fatalf("Content-Type %q", ct)
				}
			}
			p.stop(t, tc.sig)
		})
	}
}

// serveProc is "zerogc serve" run by the test binary in a process of its
// own (see envRunCLI), so that a test can signal it.
type serveProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	first  chan string // its first line of output
	rest   chan string // the rest, once it has exited
	exited chan error
}

func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: exec.Command(exe, args...), stderr: &syncBuffer{},
		first: make(chan string, 1), rest: make(chan string, 1), exited: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), envRunCLI+"=1")
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() }) // after stop: it has exited
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		p.first <- line
		b, _ := io.ReadAll(br)
		p.rest <- string(b)
		p.exited <- p.cmd.Wait()
	}()
	return p
}

func (p *serveProc) firstLine(t *testing.T, limit time.Duration) string {
	t.Helper()
	select {
	case line := <-p.first:
		return line
	case <-time.After(limit):
		t.Fatalf("serve printed nothing in %v; stderr %s", limit, p.stderr.String())
		return ""
	}
}

// stop sends sig and checks that serve exits 0 within 20 s, saying it
// stopped.
func (p *serveProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("after %v: %v; stderr %s", sig, err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not stop within 20s of %v", sig)
	}
	if r := <-p.rest; !strings.Contains(r, "stopped") {
		t.Fatalf("no 'stopped' line after the signal: %q", r)
	}
}

// syncBuffer is a bytes.Buffer that exec's copying goroutine and the test
// can use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestIssue11_14_ServeBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--flavor", "fast"}, 2, "unknown flavor"},
		{[]string{"--gc", "maybe"}, 2, "unknown GC mode"},
		{[]string{"--addr", "8080"}, 2, "give host:port"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--addr", busy.Addr().String()}, 1, "address already in use"},
		{[]string{"--help"}, 0, "--addr"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve"}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), strings.TrimPrefix(tc.want, "--")) {
			t.Errorf("zerogc serve %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errb.String(), tc.code, tc.want)
		}
	}
}
