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
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flavor, gc string
		sig        syscall.Signal
		header     string
	}{
		{"zero", "off", syscall.SIGINT, ""},
		{"nethttp", "limit=64MiB", syscall.SIGTERM, "application/json; charset=utf-8"},
	} {
		t.Run(tc.flavor, func(t *testing.T) {
			cmd := exec.Command(exe, "serve", "--flavor", tc.flavor, "--gc", tc.gc, "--addr", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), envRunCLI+"=1")
			var errb bytes.Buffer
			cmd.Stderr = &errb
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			rest := make(chan string, 1)
			first := make(chan string, 1)
			go func() {
				br := bufio.NewReader(out)
				line, _ := br.ReadString('\n')
				first <- line
				b, _ := io.ReadAll(br)
				rest <- string(b)
				exited <- cmd.Wait()
			}()
			defer func() { _ = cmd.Process.Kill() }()
			var line string
			select {
			case line = <-first:
			case <-time.After(20 * time.Second):
				t.Fatal("serve printed nothing in 20s")
			}
			m := listeningRE.FindStringSubmatch(line)
			if m == nil || !strings.Contains(line, tc.flavor+" gc="+tc.gc) {
				t.Fatalf("first line %q: want the flavor, gc mode, URL and pid; stderr %s", line, errb.String())
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
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("after %v: %v; stderr %s", tc.sig, err, errb.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("serve did not stop within 10s of %v", tc.sig)
			}
			if r := <-rest; !strings.Contains(r, "stopped") {
				t.Fatalf("no 'stopped' line after the signal: %q", r)
			}
		})
	}
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
