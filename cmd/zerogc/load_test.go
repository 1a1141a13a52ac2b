package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab/labtest"
)

func runLoadCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(append([]string{"load"}, args...), &out, &errb) }()
	select {
	case code := <-done:
		return code, out.String(), errb.String()
	case <-time.After(60 * time.Second):
		t.Fatalf("zerogc load %v hung", args)
		return 0, "", ""
	}
}

func TestLoadBadInput(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	me := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"--gc", "maybe"}, 2, "unknown GC mode"},
		{[]string{"--gc", "limit=lots"}, 2, "bad size"},
		{[]string{"--flavor", "fast"}, 2, "unknown flavor"},
		{[]string{"--requests", "0"}, 2, "--requests"},
		{[]string{"--users", "-1"}, 2, "--users"},
		{[]string{"--delay", "soon"}, 2, "invalid value"},
		{[]string{"--pid", "5"}, 2, "--pid needs --url"},
		{[]string{"--url", "http://127.0.0.1:1/"}, 2, "--url needs --pid"},
		{[]string{"--url", "http://127.0.0.1:1/", "--pid", me, "--flavor", "zero"}, 2, "own server"},
		{[]string{"--compare", "--flavor", "zero"}, 2, "--compare"},
		{[]string{"--compare", "--profile-request"}, 2, "choose one"},
		{[]string{"extra"}, 2, "unexpected argument"},
		{[]string{"--url", "http://192.0.2.7:8080/", "--pid", me}, 1, "loopback"},
		{[]string{"--url", "http://" + closed + "/api", "--pid", me}, 1, "cannot connect"},
		{[]string{"--url", "http://" + closed + "/api", "--pid", "1073741824"}, 1, "no process"},
		{[]string{"--port", strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)}, 1, "in use"},
	} {
		code, _, stderr := runLoadCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("zerogc load %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
}

func TestLoadJSON(t *testing.T) {
	code, stdout, stderr := runLoadCmd(t, "--flavor", "zero", "--gc", "off", "--requests", "300", "--warmup", "50", "--delay", "0s", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	for _, k := range []string{"requests_per_second", "bytes_per_request", "objects_per_request", "gc_cycles", "heap_growth_bytes", "peak_rss_bytes", "errors"} {
		if _, ok := r[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if r["ok"] != 300.0 || r["gc"] != "off" {
		t.Errorf("ok=%v gc=%v", r["ok"], r["gc"])
	}
}

func TestLoadCompareWritesReports(t *testing.T) {
	dir := t.TempDir()
	html, svg := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.svg")
	code, stdout, stderr := runLoadCmd(t, "--compare", "--requests", "200", "--warmup", "50", "--delay", "0s", "--users", "4", "--html", html, "--svg", svg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"nethttp gc=on", "nethttp gc=off", "zero gc=on", "zero gc=off"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("table lacks %q:\n%s", name, stdout)
		}
	}
	for _, p := range []string{html, svg} {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s: %v, %d bytes", p, err, len(b))
		}
	}
}

func TestLoadProfileRequest(t *testing.T) {
	code, stdout, stderr := runLoadCmd(t, "--profile-request", "--flavor", "nethttp", "--warmup", "100", "--top", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "one request allocated") || !strings.Contains(stdout, "net/") {
		t.Fatalf("profile output:\n%s", stdout)
	}
}

// Point 11: a server that accepts and never answers, or sends its headers
// and then stalls, ends the run within about one --timeout, with a message
// that says what the server did and which flag to change.
func TestIssue11_11_NeverAnsweringServer(t *testing.T) {
	me := strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name, reply, saw string
	}{
		{"never answers", "", "no byte"},
		{"headers then stalls", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HTTP/1.1 200 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := labtest.StallingServer(t, tc.reply) + "api"
			t0 := time.Now()
			code, _, stderr := runLoadCmd(t, "--url", url, "--pid", me, "--timeout", "200ms", "--users", "4", "--warmup", "100", "--requests", "100")
			took := time.Since(t0)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			for _, want := range []string{"timed out", tc.saw, "--timeout"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			// 100 warm-up requests by 4 users at 200ms each would take 5s.
			if took > 2*time.Second {
				t.Errorf("took %v against a stalled server with a 200ms timeout, want < 2s", took)
			}
		})
	}
}

// Point 11: the whole run is bounded by --max-time, even when the server
// answers every request, just slowly.
func TestIssue11_11_RunDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
	})}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	t0 := time.Now()
	code, _, stderr := runLoadCmd(t, "--url", "http://"+ln.Addr().String()+"/", "--pid", strconv.Itoa(os.Getpid()),
		"--users", "2", "--warmup", "0", "--requests", "1000", "--delay", "0s", "--max-time", "1s")
	took := time.Since(t0)
	if code != 1 || !strings.Contains(stderr, "--max-time") {
		t.Errorf("exit %d, stderr %q; want exit 1 and a message naming --max-time", code, stderr)
	}
	if took > 3*time.Second {
		t.Errorf("a run with --max-time 1s took %v", took)
	}
}

// Point 12: an out-of-range --port is a usage error (exit 2), like every
// other bad flag value.
func TestIssue11_12_PortOutOfRange(t *testing.T) {
	for _, p := range []string{"70000", "-1", "65536"} {
		code, _, stderr := runLoadCmd(t, "--port", p)
		if code != 2 || !strings.Contains(stderr, "--port") || !strings.Contains(stderr, "0..65535") {
			t.Errorf("--port %s: exit %d, stderr %q; want exit 2 and a message naming --port and 0..65535", p, code, stderr)
		}
	}
}

// Point 13: --pid must name the process that listens on the URL's port. A
// live process that does not (here a child "sleep") is refused, and the
// message names the process that does listen there.
func TestIssue11_13_PIDMustOwnListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	url := "http://" + ln.Addr().String() + "/"
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	code, _, stderr := runLoadCmd(t, "--url", url, "--pid", strconv.Itoa(sleep.Process.Pid), "--requests", "10", "--warmup", "0")
	if code != 1 || !strings.Contains(stderr, "not listen on port "+port) || !strings.Contains(stderr, "--pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("a PID that does not listen on the port: exit %d, stderr %q; want exit 1, %q and the listener's --pid", code, stderr, "not listen on port "+port)
	}
	// The process that does listen is accepted.
	code, stdout, stderr := runLoadCmd(t, "--url", url, "--pid", strconv.Itoa(os.Getpid()), "--requests", "10", "--warmup", "0", "--delay", "0s")
	if code != 0 || !strings.Contains(stdout, "10 ok") {
		t.Errorf("the listening PID: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
