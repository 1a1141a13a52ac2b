package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// needRedis skips the test without redis-server on PATH, except under
// CI=true, where the real-server tests must run.
func needRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found (CI=true: the real-server tests must run); apt-get install redis-server")
		}
		t.Skip("redis-server not found; install it with: apt-get install redis-server")
	}
}

// runLoadJSON runs zerogc load with --json within limit and decodes the
// report.
func runLoadJSON(t *testing.T, limit time.Duration, args ...string) map[string]any {
	t.Helper()
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(append([]string{"load", "--json"}, args...), &out, &errb) }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("zerogc load %v: exit %d: %s", args, code, errb.String())
		}
	case <-time.After(limit):
		t.Fatalf("zerogc load %v did not end within %v", args, limit)
	}
	var r map[string]any
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if !strings.Contains(errb.String(), "started redis-server on 127.0.0.1:") {
		t.Errorf("stderr does not say which redis-server it started: %q", errb.String())
	}
	return r
}

func TestLoadRedisRouteZero(t *testing.T) {
	needRedis(t)
	r := runLoadJSON(t, 60*time.Second, "--route", "redis", "--flavor", "zero", "--gc", "off", "--requests", "2000", "--delay", "0s")
	if r["ok"] != 2000.0 || r["error_count"] != 0.0 || r["name"] != "zero redis gc=off" || r["route"] != "redis" {
		t.Fatalf("ok=%v errors=%v name=%v route=%v", r["ok"], r["errors"], r["name"], r["route"])
	}
	if !strings.Contains(r["url"].(string), "/api/values/key:") {
		t.Fatalf("target %v is not the Redis route", r["url"])
	}
	checkZeroAllocs(t, r)
}

// TestLoadRedisRouteNetHTTP builds the bench module's go-redis program and
// loads it: go-redis allocates per request, and the run works end to end.
func TestLoadRedisRouteNetHTTP(t *testing.T) {
	needRedis(t)
	// The same build as zerogc load's, which then finds it up to date:
	// where it cannot work here (no go command, no module cache and no
	// network), say why and skip, except under CI=true.
	if _, err := buildLabRedis(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("cannot build the nethttp flavor's Redis program here: %v", err)
	}
	r := runLoadJSON(t, 5*time.Minute, "--route", "redis", "--flavor", "nethttp", "--gc", "off", "--requests", "1000", "--warmup", "200", "--delay", "0s", "--keys", "20")
	if r["ok"] != 1000.0 || r["error_count"] != 0.0 || r["name"] != "nethttp redis gc=off" {
		t.Fatalf("ok=%v errors=%v name=%v", r["ok"], r["errors"], r["name"])
	}
	if b := r["bytes_per_request"].(float64); b < 500 {
		t.Fatalf("go-redis under net/http: %.1f B/request; implausibly little (is it the go-redis program?)", b)
	}
}

func TestLoadRedisBadInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--route", "db"}, 2, "unknown route"},
		{[]string{"--redis", "start"}, 2, "apply only to --route redis"},
		{[]string{"--keys", "10"}, 2, "apply only to --route redis"},
		{[]string{"--route", "redis", "--keys", "0"}, 2, "--keys"},
		{[]string{"--route", "redis", "--value-size", "10000"}, 2, "--value-size"},
		{[]string{"--route", "redis", "--redis", "nowhere"}, 2, "want start or HOST:PORT"},
		{[]string{"--route", "redis", "--url", "http://127.0.0.1:1/", "--pid", "1"}, 2, "does not apply to --url"},
		{[]string{"--route", "redis", "--redis", closed}, 1, "cannot reach Redis at --redis " + closed},
	} {
		code, _, stderr := runLoadCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("zerogc load %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
	t.Run("not installed", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		code, _, stderr := runLoadCmd(t, "--route", "redis", "--redis", "start")
		if code != 1 || !strings.Contains(stderr, "apt-get install redis-server") {
			t.Fatalf("without redis-server: exit %d, stderr %q; want exit 1 saying apt-get install redis-server", code, stderr)
		}
	})
}
