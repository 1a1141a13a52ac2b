package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab"
	"github.com/zerogc/zerogc/lab/redisproc"
)

var redisListeningRE = regexp.MustCompile(`(nethttp|zero) redis gc=off listening on (http://127\.0\.0\.1:\d+/api/values/)\{key\} \(pid (\d+)\)`)
var startedRedisRE = regexp.MustCompile(`started redis-server on (127\.0\.0\.1:\d+)`)

// "zerogc serve --route redis" serves GET /api/values/{key} from a
// redis-server it starts and fills, in both flavors, and stops both on
// SIGTERM.
func TestServeRedisRoute(t *testing.T) {
	needRedis(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, flavor := range []string{"zero", "nethttp"} {
		t.Run(flavor, func(t *testing.T) {
			if flavor == "nethttp" {
				if _, err := buildLabRedis(t.TempDir()); err != nil {
					if os.Getenv("CI") == "true" {
						t.Fatal(err)
					}
					t.Skipf("cannot build the nethttp flavor's Redis program here: %v", err)
				}
			}
			cmd := exec.Command(exe, "serve", "--route", "redis", "--flavor", flavor, "--gc", "off", "--addr", "127.0.0.1:0")
			cmd.Env = append(os.Environ(), envRunCLI+"=1")
			var errb syncBuffer
			cmd.Stderr = &errb
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }()
			first, rest, exited := make(chan string, 1), make(chan string, 1), make(chan error, 1)
			go func() {
				br := bufio.NewReader(out)
				line, _ := br.ReadString('\n')
				first <- line
				b, _ := io.ReadAll(br)
				rest <- string(b)
				exited <- cmd.Wait()
			}()
			var line string
			select {
			case line = <-first:
			case <-time.After(2 * time.Minute):
				t.Fatalf("serve printed nothing in 2 minutes; stderr %s", errb.String())
			}
			m := redisListeningRE.FindStringSubmatch(line)
			if m == nil || m[1] != flavor {
				t.Fatalf("first line %q: want the flavor, route, URL and pid; stderr %s", line, errb.String())
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
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("after SIGTERM: %v; stderr %s", err, errb.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatal("serve did not stop within 20s of SIGTERM")
			}
			if r := <-rest; !strings.Contains(r, "stopped") {
				t.Fatalf("no 'stopped' line after the signal: %q", r)
			}
			rm := startedRedisRE.FindStringSubmatch(errb.String())
			if rm == nil {
				t.Fatalf("stderr does not say which redis-server it started: %s", errb.String())
			}
			if err := redisproc.Ping(rm[1], time.Second); err == nil {
				t.Fatalf("the redis-server it started on %s still runs after serve ended", rm[1])
			}
		})
	}
}

// syncBuffer is a bytes.Buffer that exec's copying goroutine and the test
// can use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeRedisBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--route", "db"}, 2, "unknown route"},
		{[]string{"--redis", "start"}, 2, "--redis applies only to --route redis"},
		{[]string{"--route", "redis", "--redis", "nowhere"}, 2, "want start or HOST:PORT"},
		{[]string{"--route", "redis", "--redis", "127.0.0.1:1"}, 1, "cannot reach Redis at --redis 127.0.0.1:1"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"serve"}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("zerogc serve %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, errb.String(), tc.code, tc.want)
		}
	}
}
