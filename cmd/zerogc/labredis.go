package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerogc/zerogc/resp/redisproc"
)

// redisFlagHelp is the help of the --redis flag of load and serve.
const redisFlagHelp = "with --route redis: \"start\" runs a throwaway redis-server (temp dir, random loopback port, no persistence, stopped at the end; needs apt-get install redis-server), or HOST:PORT of a running one"

// startRedis returns the address of the Redis server that spec names:
// "start" starts one (stop ends it), HOST:PORT is checked to answer PING.
// A malformed spec is a usage error.
func startRedis(spec, cmdName string, stderr io.Writer) (addr string, stop func(), err error) {
	if spec == "start" {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		s, err := redisproc.Start(ctx)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(stderr, "zerogc %s: started redis-server on %s (pid %d); it stops at the end\n", cmdName, s.Addr, s.PID())
		return s.Addr, s.Stop, nil
	}
	if _, _, err := net.SplitHostPort(spec); err != nil {
		return "", nil, fmt.Errorf("%w: --redis %q: want start or HOST:PORT (e.g. 127.0.0.1:6379): %v", errUsage, spec, err)
	}
	if err := redisproc.Ping(spec, 2*time.Second); err != nil {
		return "", nil, fmt.Errorf("cannot reach Redis at --redis %s: %v (is redis-server running there? --redis start runs one)", spec, err)
	}
	return spec, func() {}, nil
}

// buildLabRedis builds the nethttp flavor of the Redis route, the bench
// module's cmd/labredis (it links go-redis, which the library module does
// not), with go build, and returns the program's path. The bench module
// is found from the current directory, as zerogc bench finds it. The
// program goes to the user's cache directory (~/.cache/zerogc/labredis on
// Linux), where go build leaves it as it is when it is up to date: a
// second run does not link it again.
func buildLabRedis() (string, error) {
	dir, err := os.UserCacheDir()
	if err == nil {
		dir = filepath.Join(dir, "zerogc")
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		if dir, err = os.MkdirTemp("", "zerogc-labredis-"); err != nil {
			return "", err
		}
	}
	return buildLabRedisIn(dir)
}

func buildLabRedisIn(dir string) (string, error) {
	why := "the nethttp flavor's Redis route is the bench module's program bench/cmd/labredis (it links go-redis)"
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	benchDir, err := findBenchModule(wd)
	if err != nil {
		return "", fmt.Errorf("%s: %v", why, err)
	}
	if _, err := exec.LookPath("go"); err != nil {
		return "", fmt.Errorf("%s, and building it needs the go command, which is not on PATH: %v", why, err)
	}
	out := filepath.Join(dir, "labredis")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/labredis")
	cmd.Dir = benchDir
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s; go build ./cmd/labredis in %s failed: %v: %s", why, benchDir, err, strings.TrimSpace(string(b)))
	}
	return out, nil
}
