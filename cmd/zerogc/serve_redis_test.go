package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab"
	"github.com/zerogc/zerogc/resp/redisproc"
)

var redisListeningRE = regexp.MustCompile(`(nethttp|zero) redis gc=off listening on (http://127\.0\.0\.1:\d+/api/values/)\{key\} \(pid (\d+)\)`)
var startedRedisRE = regexp.MustCompile(`started redis-server on (127\.0\.0\.1:\d+)`)

// "zerogc serve --route redis" serves GET /api/values/{key} from a
// redis-server it starts and fills, in both flavors, and stops both on
// SIGTERM.
func TestServeRedisRoute(t *testing.T) {
	needRedis(t)
	for _, flavor := range []string{"zero", "nethttp"} {
		t.Run(flavor, func(t *testing.T) {
			if flavor == "nethttp" {
				if _, err := buildLabRedis(); err != nil {
					if os.Getenv("CI") == "true" {
						t.Fatal(err)
					}
					t.Skipf("cannot build the nethttp flavor's Redis program here: %v", err)
				}
			}
			p := startServe(t, "serve", "--route", "redis", "--flavor", flavor, "--gc", "off", "--addr", "127.0.0.1:0")
			line := p.firstLine(t, 2*time.Minute)
			m := redisListeningRE.FindStringSubmatch(line)
			if m == nil || m[1] != flavor {
				t.Fatalf("first line %q: want the flavor, route, URL and pid; stderr %s", line, p.stderr.String())
			}
			c := &http.Client{Timeout: 5 * time.Second}
			for _, i := range []int{1, 999} {
				resp, err := c.Get(m[2] + lab.RedisKey(i))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := lab.RedisValue(i, 100); resp.StatusCode != 200 || !bytes.Equal(body, want) {
					t.Fatalf("GET %s: %s %q, want 200 %q", lab.RedisKey(i), resp.Status, body, want)
				}
			}
			p.stop(t, syscall.SIGTERM)
			rm := startedRedisRE.FindStringSubmatch(p.stderr.String())
			if rm == nil {
				t.Fatalf("stderr does not say which redis-server it started: %s", p.stderr.String())
			}
			if err := redisproc.Ping(rm[1], time.Second); err == nil {
				t.Fatalf("the redis-server it started on %s still runs after serve ended", rm[1])
			}
		})
	}
}
