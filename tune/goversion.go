package tune

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// A run or an SSA request may name another Go release than the installed
// one (Request.Go, such as "go1.27.3"). tune fetches it through the module
// proxy the way the go command itself switches toolchains
// (GOTOOLCHAIN=go1.27.3 go env GOROOT), with tune's own process and the
// user's go settings, outside the sandbox: the sandboxed build has no
// network. The toolchain lands in the module cache (golang.org/toolchain),
// so later uses find it there; the sandboxed build then reads and executes
// that GOROOT and nothing else new.

// goReleaseRE is a Go release name that the go command can switch to.
var goReleaseRE = regexp.MustCompile(`^go1\.\d+(\.\d+|rc\d+)?$`)

// toolchains holds the toolchains a Runner resolved, by release name.
type toolchains struct {
	installed goEnv // the runner's own, set by NewRunner and never changed
	mu        sync.Mutex
	m         map[string]goEnv
}

// toolchainTimeout bounds fetching a toolchain (about 70 MB).
const toolchainTimeout = 5 * time.Minute

// toolchain returns the go environment of release version: the
// runner's own when version is empty or the installed one, else the
// toolchain fetched through the module proxy (at the first use; progress
// goes to onEvent as "status" events).
func (r *Runner) toolchain(ctx context.Context, version string, onEvent func(Event)) (goEnv, error) {
	version = strings.TrimSpace(version)
	if version == "" || version == "local" || version == r.tc.installed.version {
		return r.tc.installed, nil
	}
	if !goReleaseRE.MatchString(version) {
		return goEnv{}, fmt.Errorf("unknown Go version %q: give a release such as \"go1.27.3\" (or leave it empty for the installed %s)", version, r.tc.installed.version)
	}
	r.tc.mu.Lock()
	env, ok := r.tc.m[version]
	r.tc.mu.Unlock()
	if ok {
		return env, nil
	}
	ctx, cancel := context.WithTimeout(ctx, toolchainTimeout)
	defer cancel()
	start := time.Now()
	onEvent(Event{Type: "status", Status: "fetching " + version})
	// Report the download's progress: the size of what the go command
	// has written into the module cache's download directory so far.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		dl := filepath.Join(r.tc.installed.modCache, "cache", "download", "golang.org", "toolchain", "@v")
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n := downloadedBytes(dl, version)
				onEvent(Event{Type: "status", Status: fmt.Sprintf("fetching %s through the module proxy: %.1f MB, %.0f s", version, float64(n)/1e6, time.Since(start).Seconds())})
			}
		}
	}()
	cmd := exec.CommandContext(ctx, r.opt.Go, "env", "GOVERSION", "GOROOT", "GOCACHE", "GOMODCACHE")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+version)
	cmd.Dir = os.TempDir()
	var stderr capBuffer
	stderr.max = 64 << 10
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	close(stop)
	wg.Wait()
	msg, _ := stderr.result()
	msg = strings.TrimSpace(msg)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return goEnv{}, fmt.Errorf("fetching %s took longer than %v: %s", version, toolchainTimeout, msg)
		case ctx.Err() != nil:
			return goEnv{}, fmt.Errorf("fetching %s was stopped", version)
		}
		return goEnv{}, toolchainError(version, msg, err)
	}
	l := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(l) != 4 || l[0] != version {
		return goEnv{}, fmt.Errorf("GOTOOLCHAIN=%s go env printed %q (%s), want the version and three paths", version, out, msg)
	}
	env = goEnv{version: l[0], root: l[1], cache: r.tc.installed.cache, modCache: r.tc.installed.modCache}
	if !fileExists(filepath.Join(env.root, "bin", "go")) {
		return goEnv{}, fmt.Errorf("the toolchain %s has no bin/go under %s", version, env.root)
	}
	r.tc.mu.Lock()
	if r.tc.m == nil {
		r.tc.m = map[string]goEnv{}
	}
	r.tc.m[version] = env
	r.tc.mu.Unlock()
	onEvent(Event{Type: "status", Status: fmt.Sprintf("%s ready (%.1f s)", version, time.Since(start).Seconds())})
	return env, nil
}

// toolchainError says why the go command could not switch to version:
// no such release, or the module proxy out of reach.
func toolchainError(version, msg string, err error) error {
	switch {
	case strings.Contains(msg, "toolchain not available"), strings.Contains(msg, "invalid version"), strings.Contains(msg, "unknown revision"), strings.Contains(msg, "404 Not Found"), strings.Contains(msg, "410 Gone"),
		strings.Contains(msg, "not available"):
		return fmt.Errorf("unknown Go version %q: the module proxy has no such release (%s)", version, msg)
	case strings.Contains(msg, "dial tcp"), strings.Contains(msg, "lookup "), strings.Contains(msg, "no such host"), strings.Contains(msg, "connection refused"),
		strings.Contains(msg, "i/o timeout"), strings.Contains(msg, "TLS handshake"), strings.Contains(msg, "GOPROXY=off"), strings.Contains(msg, "network is unreachable"):
		return fmt.Errorf("cannot fetch %s: the module proxy is unreachable (%s)", version, msg)
	}
	return fmt.Errorf("cannot switch to %s (%v): %s", version, err, msg)
}

// downloadedBytes is the size of the files of version in the module
// cache's toolchain download directory (partial downloads included).
func downloadedBytes(dir, version string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), version) {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// useToolchain makes the runner build and run with env until the
// returned function restores its own toolchain. Only a caller that owns
// the runner (busy) may call it: the runner's env and lang are read only
// by the run in progress.
func (r *Runner) useToolchain(env goEnv) (restore func()) {
	savedEnv, savedLang := r.env, r.lang
	r.env = env
	if m := goVersionRE.FindStringSubmatch(env.version); m != nil {
		r.lang = m[1]
	}
	return func() { r.env, r.lang = savedEnv, savedLang }
}

// goCommand is the go command of the toolchain in use.
func (r *Runner) goCommand() string {
	if g := filepath.Join(r.env.root, "bin", "go"); fileExists(g) {
		return g
	}
	return r.opt.Go
}

// GoVersion returns the version of the installed toolchain, such as
// "go1.26.8".
func (r *Runner) GoVersion() string { return r.tc.installed.version }

// switchToolchain makes the run in progress use release version (see
// toolchain), until restore.
func (r *Runner) switchToolchain(ctx context.Context, version string, onEvent func(Event)) (restore func(), err error) {
	env, err := r.toolchain(ctx, version, onEvent)
	if err != nil {
		return nil, err
	}
	return r.useToolchain(env), nil
}
