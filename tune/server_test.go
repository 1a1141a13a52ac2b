package tune

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func base(s *Server) string { return "http://" + s.Addr().String() }

// sendRun sends body to srv's POST /api/run with the token, as the page does.
func sendRun(srv *Server, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequest("POST", base(srv)+"/api/run", body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tune-Token", srv.Token())
	return http.DefaultClient.Do(req)
}

func runBody(t *testing.T, code, input string) []byte {
	t.Helper()
	b, err := json.Marshal(Request{Code: code, Input: input, Mode: "release"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestServerGuard checks the access rules: the token, the Host header and
// the Origin header.
func TestServerGuard(t *testing.T) {
	srv := startServer(t, Options{})
	u := base(srv)
	body := runBody(t, "package main\nfunc F(s string) {}\n", "")
	cases := []struct {
		name   string
		method string
		url    string
		header map[string]string
		host   string
		want   int
	}{
		{"page without token (public)", "GET", u + "/", nil, "", 200},
		{"run without token", "POST", u + "/api/run", nil, "", 403},
		{"run with wrong header token", "POST", u + "/api/run", map[string]string{"X-Tune-Token": "nope"}, "", 403},
		{"run with foreign origin", "POST", u + "/api/run", map[string]string{"X-Tune-Token": srv.Token(), "Origin": "http://evil.example"}, "", 403},
		{"run with origin on another port", "POST", u + "/api/run", map[string]string{"X-Tune-Token": srv.Token(), "Origin": "http://127.0.0.1:1"}, "", 403},
		{"cross-site fetch", "POST", u + "/api/run", map[string]string{"X-Tune-Token": srv.Token(), "Sec-Fetch-Site": "cross-site"}, "", 403},
		{"rebinding host", "GET", u + "/?token=" + srv.Token(), nil, "evil.example", 403},
		{"rebinding host with our port", "GET", u + "/api/samples?token=" + srv.Token(), nil, "evil.example:" + strings.Split(srv.Addr().String(), ":")[1], 403},
		{"events without token", "GET", u + "/api/events", nil, "", 403},
		{"assets without token (public)", "GET", u + "/assets/app.js", nil, "", 200},
		{"rebinding host for an asset", "GET", u + "/assets/app.js", nil, "evil.example", 403},
		{"samples with the token in the query", "GET", u + "/api/samples?token=" + srv.Token(), nil, "", 403},
		{"samples with the header", "GET", u + "/api/samples", map[string]string{"X-Tune-Token": srv.Token()}, "", 200},
		{"stop without token", "POST", u + "/api/stop", nil, "", 403},
		{"info with foreign origin", "GET", u + "/api/info", map[string]string{"X-Tune-Token": srv.Token(), "Origin": "http://127.0.0.1:1"}, "", 403},
		{"samples with localhost host", "GET", u + "/api/samples", map[string]string{"X-Tune-Token": srv.Token()}, "localhost:" + strings.Split(srv.Addr().String(), ":")[1], 200},
		{"run with own origin but not JSON", "POST", u + "/api/run", map[string]string{"X-Tune-Token": srv.Token(), "Origin": base(srv), "Content-Type": "text/plain"}, "", 415},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range cases {
		var rd io.Reader
		if c.method == "POST" {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(c.method, c.url, rd)
		if c.method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, resp.StatusCode, c.want, msg)
		}
	}
}

// TestServerAPI posts the allocating sample as a script would, and
// watches the event stream while it runs.
func TestServerAPI(t *testing.T) {
	srv := startServer(t, Options{})
	s, _ := SampleByID("alloc")

	// Subscribe to the live events first.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evReq, _ := http.NewRequestWithContext(ctx, "GET", base(srv)+"/api/events", nil)
	evReq.Header.Set("X-Tune-Token", srv.Token())
	evResp, err := http.DefaultClient.Do(evReq)
	if err != nil {
		t.Fatal(err)
	}
	defer evResp.Body.Close()
	if ct := evResp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("events content type %q", ct)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		sc := bufio.NewScanner(evResp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				mu.Lock()
				seen[name]++
				mu.Unlock()
			}
		}
	}()

	resp, err := sendRun(srv, bytes.NewReader(runBody(t, s.Code, "1500")))
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if res.Error != "" || len(res.Assembly) == 0 || res.Alloc == nil || res.Alloc.Bytes == 0 || len(res.Cycles) == 0 {
		t.Fatalf("result: error %q, %d functions, alloc %+v, %d cycles", res.Error, len(res.Assembly), res.Alloc, len(res.Cycles))
	}
	heap := false
	for _, d := range res.Escapes {
		heap = heap || (d.Kind == "heap" && d.Line == lineOf(t, s.Code, "make([]int, 3000)"))
	}
	if !heap {
		t.Error("no escapes-to-heap decision on the allocating line")
	}

	// The stream saw the run: wait briefly for the last events.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		ok := seen["status"] >= 3 && seen["sample"] > 0 && seen["cycle"] > 0
		got := map[string]int{}
		for k, v := range seen {
			got[k] = v
		}
		mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events seen: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-streamDone

	// Bad requests get a JSON error that says what to send.
	for _, body := range []string{`{"code": 1}`, `{"code": ""}`, `{"code": "package main", "extra": 1}`, `{"code": "package main\nfunc F(s string) {}", "mode": "turbo"}`} {
		resp, err := sendRun(srv, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != 400 || e.Error == "" {
			t.Errorf("%s: status %d, error %q", body, resp.StatusCode, e.Error)
		}
	}
}

func TestServerAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:80", "example.com:80", "nonsense"} {
		if s, err := NewServer(Config{Addr: addr}); err == nil {
			s.Shutdown(context.Background())
			t.Errorf("NewServer(%q) accepted a non-loopback address", addr)
		}
	}
}

// TestServerBusy sends a second run while the first one sleeps: it is
// refused with 409 and a message.
func TestServerBusy(t *testing.T) {
	srv := startServer(t, Options{})
	code := "package main\n\nimport \"time\"\n\nfunc Wait(s string) int {\n\ttime.Sleep(1500 * time.Millisecond)\n\treturn 1\n}\n"
	post := func() (int, string) {
		resp, err := sendRun(srv, bytes.NewReader(runBody(t, code, "")))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	first := make(chan int, 1)
	go func() { c, _ := post(); first <- c }()
	// Wait until the first run is in progress, then try a second.
	deadline := time.Now().Add(60 * time.Second)
	for !srv.runner.busy.Load() {
		if time.Now().After(deadline) {
			t.Fatal("first run never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	code2, msg := post()
	if code2 != http.StatusConflict || !strings.Contains(msg, "another snippet is running") {
		t.Errorf("second run: %d %s", code2, msg)
	}
	if c := <-first; c != 200 {
		t.Errorf("first run: status %d", c)
	}
}

// TestServerShutdownDuringRun stops the server while a snippet sleeps: the
// run is killed and Shutdown returns within its grace period plus the kill.
func TestServerShutdownDuringRun(t *testing.T) {
	srv, err := NewServer(Config{Runner: Options{Timeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	code := "package main\n\nimport \"time\"\n\nfunc Wait(s string) int {\n\ttime.Sleep(time.Minute)\n\treturn 1\n}\n"
	posted := make(chan int, 1)
	go func() {
		resp, err := sendRun(srv, bytes.NewReader(runBody(t, code, "")))
		if err != nil {
			posted <- 0 // the connection was closed: expected
			return
		}
		resp.Body.Close()
		posted <- resp.StatusCode
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !srv.runner.busy.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the run never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_ = srv.Shutdown(ctx) // reports the grace period running out
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if srv.runner.busy.Load() {
		t.Error("the run is still going after Shutdown")
	}
	<-posted
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
}

// TestServerIPv6 serves on ::1 when asked, and prints a URL that works.
func TestServerIPv6(t *testing.T) {
	srv, err := NewServer(Config{Addr: "[::1]:0"})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	go func() { _ = srv.Serve() }()
	defer srv.Shutdown(context.Background())
	if !strings.HasPrefix(srv.URL(), "http://[::1]:") {
		t.Fatalf("URL %s", srv.URL())
	}
	root, token, _ := strings.Cut(srv.URL(), "/#token=")
	req, _ := http.NewRequest("GET", root+"/api/samples", nil)
	req.Header.Set("X-Tune-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
}

// TestTuneIssue12_NoAmbientCredential: nothing the server sends is a
// credential a browser would replay to another local server. The page
// and its assets are served without the token and with no cookie; the
// token in a query or a cookie opens nothing; only the X-Tune-Token
// header does.
func TestTuneIssue12_NoAmbientCredential(t *testing.T) {
	srv := startServer(t, Options{})
	u := base(srv)
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", u+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for _, c := range resp.Header.Values("Set-Cookie") {
			t.Errorf("GET %s sent Set-Cookie %q", path, c)
		}
		return resp
	}
	for _, p := range []string{"/", "/?token=" + srv.Token(), "/assets/app.js", "/assets/style.css", "/favicon.ico"} {
		if resp := get(p, nil); resp.StatusCode != 200 {
			t.Errorf("GET %s: status %d, want 200 (the page is public; the API is not)", p, resp.StatusCode)
		}
	}
	if !strings.Contains(srv.URL(), "/#token="+srv.Token()) || strings.Contains(srv.URL(), "?") {
		t.Errorf("URL %s: want the token in the fragment, which a browser never sends", srv.URL())
	}
	cookie := map[string]string{"Cookie": "zerogc_tune_" + strings.Split(srv.Addr().String(), ":")[1] + "=" + srv.Token()}
	for _, p := range []string{"/api/samples?token=" + srv.Token(), "/api/events?token=" + srv.Token(), "/api/samples", "/api/info"} {
		if resp := get(p, cookie); resp.StatusCode != 403 {
			t.Errorf("GET %s with the token in the query or a cookie: status %d, want 403", p, resp.StatusCode)
		}
	}
	if resp := get("/api/samples", map[string]string{"X-Tune-Token": srv.Token()}); resp.StatusCode != 200 {
		t.Errorf("GET /api/samples with the header: status %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", u+"/api/run", bytes.NewReader(runBody(t, "package main\nfunc F(s string) {}\n", "")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", cookie["Cookie"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST /api/run without the header: status %d, want 403", resp.StatusCode)
	}
}
