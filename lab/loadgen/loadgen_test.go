package loadgen

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab/labtest"
)

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h) // listens on 127.0.0.1
	t.Cleanup(s.Close)
	return s
}

func TestExactCount(t *testing.T) {
	var hits atomic.Int64
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	g, err := New(Config{URL: s.URL + "/x", Users: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 6, 537} {
		hits.Store(0)
		res, err := g.Run(context.Background(), n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != n || res.OK != n || hits.Load() != int64(n) || len(res.Latencies) != n || g.Done() != int64(n) {
			t.Fatalf("n=%d: result %d requests, %d ok, server saw %d, %d latencies, Done %d",
				n, res.Requests, res.OK, hits.Load(), len(res.Latencies), g.Done())
		}
		if res.ErrorCount() != 0 || res.Aborted != "" {
			t.Fatalf("n=%d: errors %v, aborted %q", n, res.Errors, res.Aborted)
		}
	}
}

func TestDelayHonoured(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	const users, n, delay = 2, 10, 20 * time.Millisecond
	g, err := New(Config{URL: s.URL, Users: users, Delay: delay})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background(), n, -1) // -1: use Config.Delay
	if err != nil {
		t.Fatal(err)
	}
	// Some user sent at least n/users requests, each followed by the delay.
	if min := time.Duration(n/users) * delay; res.Duration < min {
		t.Fatalf("%d requests by %d users with %v delay took %v, less than %v: delay not honoured", n, users, delay, res.Duration, min)
	}
	// And an explicit 0 overrides it.
	res, err = g.Run(context.Background(), n, 0)
	if err != nil || res.Requests != n {
		t.Fatalf("no-delay run: %v, %+v", err, res)
	}
}

func TestErrorsCounted(t *testing.T) {
	var hits atomic.Int64
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1)%3 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	g, err := New(Config{URL: s.URL, Users: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background(), 30, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors["status 500"] != 10 || res.OK != 20 || res.Requests != 30 {
		t.Fatalf("want 10 x status 500 and 20 ok, got %v and %d ok", res.Errors, res.OK)
	}
}

func TestTimeoutCounted(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	g, err := New(Config{URL: s.URL, Users: 2, Timeout: 50 * time.Millisecond, MaxTimeouts: 10})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background(), 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors["timeout"] != 4 || res.Requests != 4 {
		t.Fatalf("want 4 timeouts, got %v (%d requests)", res.Errors, res.Requests)
	}
}

func TestStopsWhenServerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	g, err := New(Config{URL: "http://" + addr + "/", Users: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Probe(time.Second); err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("Probe of a closed port: %v", err)
	}
	res, err := g.Run(context.Background(), 1_000_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Aborted == "" || res.Requests >= 1000 || res.Errors["refused"] < abortAfter {
		t.Fatalf("run against a closed port did not stop early: %d requests, errors %v, aborted %q", res.Requests, res.Errors, res.Aborted)
	}
}

func TestStopsOnCancel(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	g, err := New(Config{URL: s.URL, Users: 2, Delay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := g.Run(ctx, 1000, -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests > 2 || !strings.HasPrefix(res.Aborted, "stopped: context deadline exceeded") {
		t.Fatalf("canceled run: %d requests, aborted %q; want at most 2 (one per user) and stopped", res.Requests, res.Aborted)
	}
}

// Point 11 of issue 11: timeouts count toward stopping a run. A server that
// accepts and never answers, or sends headers and stalls, ends the run after
// one timeout, with the requests in flight cut off, and the reason says
// what the server sent.
func TestIssue11_11_TimeoutsStopRun(t *testing.T) {
	for _, tc := range []struct{ reply, saw string }{
		{"", "sent no byte"},
		{"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", `sent the start of a response ("HTTP/1.1 200 OK") and then nothing`},
	} {
		g, err := New(Config{URL: labtest.StallingServer(t, tc.reply), Users: 4, Timeout: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		res, err := g.Run(context.Background(), 1000, 0)
		took := time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Aborted, "4 requests in a row timed out after 100ms") || !strings.Contains(res.Aborted, tc.saw) {
			t.Errorf("aborted %q; want the timeouts and %q", res.Aborted, tc.saw)
		}
		// One round of 4 timeouts; the requests sent meanwhile are cut off.
		if res.Requests != 4 || res.Errors["timeout"] != 4 || took > 300*time.Millisecond {
			t.Errorf("%d requests (%v) in %v; want the 4 timeouts of the first round, in about 100ms", res.Requests, res.Errors, took)
		}
	}
}

// A canceled context ends a run at once, even with requests waiting for a
// long timeout.
func TestCancelCutsRequestsInFlight(t *testing.T) {
	g, err := New(Config{URL: labtest.StallingServer(t, ""), Users: 3, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond, errors.New("over time"))
	defer cancel()
	t0 := time.Now()
	res, err := g.Run(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > time.Second || res.Aborted != "stopped: over time" || res.Requests != 0 {
		t.Fatalf("took %v, aborted %q, %d requests; want about 100ms, stopped by the cause, none counted", took, res.Aborted, res.Requests)
	}
}

func TestNotifyAndResetDone(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	g, err := New(Config{URL: s.URL, Users: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Run(context.Background(), 20, 0); err != nil {
		t.Fatal(err)
	}
	if g.ResetDone(); g.Done() != 0 {
		t.Fatalf("Done after ResetDone = %d", g.Done())
	}
	ch := make(chan struct{}, 100)
	g.Notify(ch, 10)
	if _, err := g.Run(context.Background(), 95, 0); err != nil {
		t.Fatal(err)
	}
	if len(ch) != 9 {
		t.Fatalf("%d notifications for 95 requests every 10, want 9", len(ch))
	}
	g.Notify(nil, 0)
	if _, err := g.Run(context.Background(), 30, 0); err != nil || len(ch) != 9 {
		t.Fatalf("notified after Notify(nil): %d, %v", len(ch), err)
	}
}

func TestValidateURL(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080/api", "http://localhost:9/", "http://[::1]:80/x", "http://127.1.2.3/"} {
		if _, err := ValidateURL(ok); err != nil {
			t.Errorf("ValidateURL(%q): %v", ok, err)
		}
	}
	for bad, want := range map[string]string{
		"http://10.0.0.1:8080/":    "loopback",
		"http://example.com/":      "loopback",
		"http://0.0.0.0:80/":       "loopback",
		"https://127.0.0.1/":       "only http://",
		"127.0.0.1:8080":           "want e.g. http://",
		"http:///nohost":           "no host",
		"http://127.0.0.1:80:80/%": "bad URL",
	} {
		if _, err := ValidateURL(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateURL(%q) = %v, want an error mentioning %q", bad, err, want)
		}
	}
	if _, err := New(Config{URL: "http://127.0.0.1:1/", Users: 0}); err == nil {
		t.Error("Users 0 accepted")
	}
	if _, err := New(Config{URL: "http://127.0.0.1:1/", Users: 1, Delay: -time.Second}); err == nil {
		t.Error("negative delay accepted")
	}
}

func TestPercentile(t *testing.T) {
	r := &Result{}
	if r.Percentile(0.5) != 0 || r.RequestsPerSecond() != 0 {
		t.Fatal("empty result")
	}
	for i := 1; i <= 100; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.9: 90, 0.99: 99, 1: 100, 0: 1} {
		if got := r.Percentile(q); got != want {
			t.Errorf("Percentile(%v) = %v, want %v", q, got, want)
		}
	}
}

// Stopping a run races the users' requests, their dials and fasthttp's own
// closes of the same connections; under -race this must stay clean, and
// every stopped run must end promptly and leave the generator usable.
func TestStopStress(t *testing.T) {
	stalled := labtest.StallingServer(t, "")
	fast := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	for i := range 20 {
		g, err := New(Config{URL: stalled, Users: 16, Timeout: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.Run(context.Background(), 1000, 0)
		if err != nil || res.Aborted == "" || res.Requests > 1000 {
			t.Fatalf("stalled round %d: %v, aborted %q, %d requests", i, err, res.Aborted, res.Requests)
		}
		// A fast server, canceled mid-run, then the same generator again.
		g, err = New(Config{URL: fast.URL, Users: 16})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%5)*time.Millisecond)
		res, err = g.Run(ctx, 1_000_000, 0)
		cancel()
		if err != nil || !strings.HasPrefix(res.Aborted, "stopped") {
			t.Fatalf("canceled round %d: %v, aborted %q", i, err, res.Aborted)
		}
		if res, err = g.Run(context.Background(), 50, 0); err != nil || res.OK != 50 {
			t.Fatalf("run after a stopped one, round %d: %v, %+v", i, err, res)
		}
	}
}

// TestPathsCycle: with Config.Paths, a run's requests go to each path in
// turn, so that n requests over k paths hit each n/k times.
func TestPathsCycle(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
	})
	paths := []string{"/api/values/key:0000", "/api/values/key:0001", "/api/values/key:0002"}
	g, err := New(Config{URL: s.URL + paths[0], Paths: paths, Users: 4})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background(), 300, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 300 || len(hits) != 3 || hits[paths[0]] != 100 || hits[paths[1]] != 100 || hits[paths[2]] != 100 {
		t.Fatalf("300 requests over 3 paths: %d ok, server saw %v; want 100 each", res.OK, hits)
	}
	if _, err := New(Config{URL: s.URL, Paths: []string{"nope"}, Users: 1}); err == nil {
		t.Fatal("a path without a leading / accepted")
	}
}
