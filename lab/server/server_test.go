package server

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

var bodyRE = regexp.MustCompile(`^\["\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","value2"\]` + "\n$")

func TestAppendTimeMatchesTimeFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 26, 16, 44, 42, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 2, 29, 1, 2, 3, 4e6, time.FixedZone("x", 5*3600)),
	} {
		want := tm.UTC().Format(TimeLayout)
		if got := string(AppendTime(nil, tm)); got != want {
			t.Errorf("AppendTime(%v) = %q, want %q", tm, got, want)
		}
	}
	tm := time.Now()
	if got, want := string(AppendValues(nil, tm)), `["`+tm.UTC().Format(TimeLayout)+`","value2"]`+"\n"; got != want {
		t.Errorf("AppendValues = %q, want %q", got, want)
	}
}

// Point 16 of issue 11: AppendTime is the standard library's
// time.Time.AppendFormat, so it writes what Format writes for every time,
// years beyond 9999 and before 1 included (the hand-written version clamped
// them), and it allocates nothing (alloc_test.go).
func TestIssue11_16_AppendTimeIsAppendFormat(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(10000, 1, 2, 3, 4, 5, 6e6, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 1, 23, 59, 59, 999999999, time.FixedZone("-0930", -(9*3600+1800))),
		time.Unix(0, 0),
		time.Now(),
	} {
		if got, want := string(AppendTime([]byte("x"), tm)), "x"+tm.UTC().Format(TimeLayout); got != want {
			t.Errorf("AppendTime(%v) = %q, want %q", tm, got, want)
		}
	}
}

func TestParseGC(t *testing.T) {
	for in, want := range map[string]string{"on": "on", "off": "off", "limit=256MiB": "limit=256MiB", "limit=1073741824": "limit=1GiB"} {
		m, err := ParseGC(in)
		if err != nil || m.String() != want {
			t.Errorf("ParseGC(%q) = %v, %v; want %s", in, m, err, want)
		}
	}
	for _, bad := range []string{"", "maybe", "limit=", "limit=10", "limit=-5MiB", "limit=12MB", "limit=abc"} {
		if _, err := ParseGC(bad); err == nil {
			t.Errorf("ParseGC(%q) accepted", bad)
		}
	}
	m, _ := ParseGC("limit=64MiB")
	env := strings.Join(m.Env(), " ")
	if env != "GOGC=off GOMEMLIMIT="+strconv.Itoa(64<<20) {
		t.Errorf("limit env = %q", env)
	}
}

func TestChildFlavors(t *testing.T) {
	for _, f := range []Flavor{NetHTTP, Zero} {
		t.Run(string(f), func(t *testing.T) {
			c, err := Start(Options{Flavor: f, GC: GCMode{Off: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			if !strings.HasPrefix(c.Addr, "127.0.0.1:") {
				t.Fatalf("child listens on %s, want loopback", c.Addr)
			}
			for range 3 {
				resp, err := http.Get(c.URL)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bodyRE.Match(body) {
					t.Fatalf("GET %s: %d %q", c.URL, resp.StatusCode, body)
				}
				if ct := resp.Header.Get("Content-Type"); ct != contentType {
					t.Fatalf("Content-Type %q", ct)
				}
			}
			resp, err := http.Get("http://" + c.Addr + "/nope")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("unknown path: status %d, want 404", resp.StatusCode)
			}
			m1, err := c.Metrics()
			if err != nil {
				t.Fatal(err)
			}
			if m1.AllocBytes == 0 || m1.HeapObjectsBytes == 0 || m1.GCCycles != 0 {
				t.Fatalf("implausible metrics with GOGC=off: %+v", m1)
			}
			if err := c.ProfileBegin(); err == nil {
				t.Fatal("ProfileBegin without Options.Profile succeeded")
			}
			if err := c.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if _, err := c.Metrics(); err == nil {
				t.Fatal("Metrics after Stop succeeded")
			}
		})
	}
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(Options{Flavor: Zero, Port: port})
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("Start on a busy port: err = %v, want a message saying it is in use", err)
	}
}

func TestStartBadInput(t *testing.T) {
	if _, err := Start(Options{Flavor: "fast"}); err == nil || !strings.Contains(err.Error(), "unknown flavor") {
		t.Fatalf("bad flavor: %v", err)
	}
	if _, err := Start(Options{Flavor: Zero, Port: 70000}); err == nil {
		t.Fatal("port 70000 accepted")
	}
}

func TestProfileOneRequest(t *testing.T) {
	c, err := Start(Options{Flavor: NetHTTP, Profile: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	client := &http.Client{}
	get := func() {
		resp, err := client.Get(c.URL)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	if err := c.ProfileBegin(); err != nil {
		t.Fatal(err)
	}
	get()
	time.Sleep(20 * time.Millisecond)
	p, err := c.ProfileEnd()
	if err != nil {
		t.Fatal(err)
	}
	if p.Bytes < 500 || p.Objects < 5 || len(p.Sites) == 0 {
		t.Fatalf("net/http request profile implausibly small: %d B, %d objects, %d sites", p.Bytes, p.Objects, len(p.Sites))
	}
	var sum int64
	for _, s := range p.Sites {
		sum += s.Bytes
		if strings.Contains(strings.Join(s.Stack, " "), ownFrame) {
			t.Fatalf("profile includes the control channel's own allocations: %+v", s)
		}
	}
	if sum != p.Bytes {
		t.Fatalf("sites sum to %d B, total says %d", sum, p.Bytes)
	}
	t.Logf("one net/http request: %d B in %d objects; top site %s:%d (%d B)", p.Bytes, p.Objects, p.Sites[0].Function, p.Sites[0].Line, p.Sites[0].Bytes)
}

func BenchmarkAppendTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	tm := time.Date(2026, 12, 1, 23, 59, 59, 123456789, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTime(buf[:0], tm)
	}
}

func TestGCModeApply(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, tc := range []struct {
		mode    GCMode
		percent int
		limit   int64
	}{
		{GCMode{Off: true}, -1, math.MaxInt64},
		{GCMode{Off: true, Limit: 64 << 20}, -1, 64 << 20},
		{GCMode{}, 100, math.MaxInt64},
	} {
		tc.mode.Apply()
		if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != tc.percent || l != tc.limit {
			t.Errorf("%v.Apply(): GOGC %d, limit %d; want %d, %d", tc.mode, p, l, tc.percent, tc.limit)
		}
		debug.SetGCPercent(tc.percent) // SetGCPercent(-1) above read it by changing it
	}
}

// Serve stops when its context ends and lets the program go on.
func TestServeStopsOnCancel(t *testing.T) {
	for _, f := range []Flavor{Zero, NetHTTP} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- Serve(ctx, ln, f) }()
		resp, err := http.Get("http://" + ln.Addr().String() + ValuesPath)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bodyRE.Match(body) {
			t.Fatalf("%s: %s %q", f, resp.Status, body)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s: Serve after cancel: %v", f, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Serve did not return after cancel", f)
		}
		if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
			t.Fatalf("%s: still accepting after Serve returned", f)
		}
	}
	if err := Serve(context.Background(), nil, "fast"); err == nil {
		t.Fatal("unknown flavor served")
	}
}
