package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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
