package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/zerogc/zerogc/lab/server"
	"github.com/zerogc/zerogc/resp/redistest"
)

// The go-redis flavor answers like the zero flavor: the value, 404 for a
// missing key, and the seed's /api/values beside it.
func TestHandler(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	value := "the value of k, " + strings.Repeat("x", 80)
	if err := rdb.Set(context.Background(), "k", value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	h, err := newHandler(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(h)
	defer web.Close()
	for _, tc := range []struct {
		path, ct string
		code     int
		body     string
	}{
		{server.RedisPath + "k", "application/octet-stream", 200, value},
		{server.RedisPath + "missing", "", 404, "no such key\n"},
		{server.ValuesPath, "application/json; charset=utf-8", 200, ""},
	} {
		r, err := http.Get(web.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != tc.code || (tc.body != "" && string(b) != tc.body) || (tc.ct != "" && r.Header.Get("Content-Type") != tc.ct) {
			t.Errorf("GET %s: %d %q (%s), want %d %q (%s)", tc.path, r.StatusCode, b, r.Header.Get("Content-Type"), tc.code, tc.body, tc.ct)
		}
	}
	srv.Kill()
	if _, err := newHandler(srv.Addr); err == nil || !strings.Contains(err.Error(), "cannot reach Redis at "+srv.Addr) {
		t.Fatalf("newHandler with Redis down: %v", err)
	}
}
