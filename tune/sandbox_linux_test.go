package tune

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The tests of issue 12: a run is a sandbox. Each names the mechanism it
// exercises; where the kernel lacks it, it skips, except under CI=true,
// where every mechanism is expected (the CI machine has them all).

func TestMain(m *testing.M) {
	if mark := os.Getenv("ZEROGC_TUNE_HELPER"); mark != "" {
		helperTuneProcess(mark)
	}
	os.Exit(m.Run())
}

// needProtection skips (or fails under CI=true) when the runner does not
// have the named protection on, and logs the mechanism otherwise.
func needProtection(t *testing.T, r *Runner, name string) {
	t.Helper()
	for _, p := range r.Protections() {
		if p.Name != name {
			continue
		}
		if p.On {
			t.Logf("mechanism (%s): %s", name, p.How)
			return
		}
		msg := fmt.Sprintf("the %s protection is off on this machine: %s", name, p.How)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	t.Fatalf("the runner reports no %q protection", name)
}

// marker returns a string unique to this test, put on the command line of
// the processes a snippet starts so that the test finds them in /proc.
func marker(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "tunemark" + hex.EncodeToString(b[:])
}

// processesWith returns the pids of the processes whose command line
// contains s.
func processesWith(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone waits up to d for the processes with s on their command line to
// be gone, and returns the pids of those still there.
func waitGone(s string, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		left := processesWith(s)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// selfExec is the head of the snippets below: started with a role as its
// first argument, the snippet's binary plays that role instead of running
// the harness (the snippet's init runs before the harness's main), so a
// snippet can start children without any program outside its run
// directory.
const selfExec = `package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

var _ = fmt.Sprint
var _ = net.Dial
var _ = strconv.Itoa

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "sleeper":
		time.Sleep(time.Hour)
	case "forker": // the double fork: start a sleeper and exit at once
		c := exec.Command(os.Args[0], "sleeper", os.Args[2])
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		c.Start()
	case "hog": // touch 40 MiB and hold it
		b := make([]byte, 40<<20)
		for i := range b {
			b[i] = 1
		}
		time.Sleep(20 * time.Second)
		b[0] = 2
	}
	os.Exit(0)
}

func start(attr *syscall.SysProcAttr, args ...string) error {
	c := exec.Command(os.Args[0], args...)
	c.SysProcAttr = attr
	return c.Start()
}
`

func TestTuneIssue12_EscapedChildrenDieWithTheRun(t *testing.T) {
	r := newRunner(t, Options{Timeout: 30 * time.Second})
	needProtection(t, r, "processes")
	m := marker(t)
	code := selfExec + `
func Run(m string) string {
	// a child in a session of its own
	if err := start(&syscall.SysProcAttr{Setsid: true}, "sleeper", m); err != nil {
		return err.Error()
	}
	// a child in a process group of its own
	if err := start(&syscall.SysProcAttr{Setpgid: true}, "sleeper", m); err != nil {
		return err.Error()
	}
	// a double fork: the grandchild is orphaned at once
	c := exec.Command(os.Args[0], "forker", m)
	if err := c.Run(); err != nil {
		return err.Error()
	}
	time.Sleep(200 * time.Millisecond)
	return "started"
}
`
	res := mustRun(t, r, Request{Code: code, Input: m}, nil)
	if res.Error != "" || len(res.Results) != 1 || res.Results[0] != `"started"` {
		t.Fatalf("run: error %q results %v stderr %q\n%s", res.Error, res.Results, res.Stderr, res.BuildOutput)
	}
	if left := waitGone(m, 3*time.Second); len(left) > 0 {
		t.Errorf("processes of the run left behind: %v", left)
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestTuneIssue12_MemoryOfTheWholeTree(t *testing.T) {
	r := newRunner(t, Options{MemoryLimit: 100 << 20, Timeout: 30 * time.Second})
	needProtection(t, r, "memory")
	m := marker(t)
	code := selfExec + `
func Run(m string) string {
	var cs []*exec.Cmd
	for i := 0; i < 4; i++ {
		c := exec.Command(os.Args[0], "hog", m)
		if err := c.Start(); err != nil {
			return err.Error()
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		c.Wait()
	}
	return "survived"
}
`
	start := time.Now()
	res := mustRun(t, r, Request{Code: code, Input: m}, nil)
	if res.Killed != "memory" || !strings.Contains(res.Error, "100 MiB") {
		t.Errorf("killed=%q error=%q after %v: want killed at the memory limit, named in the message", res.Killed, res.Error, time.Since(start))
	}
	if res.PeakMemory < 100<<20 {
		t.Errorf("peak memory of the tree %d, want more than the limit it was killed at", res.PeakMemory)
	}
	if left := waitGone(m, 3*time.Second); len(left) > 0 {
		t.Errorf("hogs left behind: %v", left)
	}
}

func TestTuneIssue12_NoNetwork(t *testing.T) {
	r := newRunner(t, Options{})
	needProtection(t, r, "network")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	code := selfExec + `
func Run(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "refused: " + err.Error()
	}
	c.Close()
	return "connected"
}
`
	res := mustRun(t, r, Request{Code: code, Input: ln.Addr().String()}, nil)
	if len(res.Results) != 1 || !strings.HasPrefix(res.Results[0], `"refused: `) || accepted.Load() != 0 {
		t.Errorf("results %v (error %q), %d connections accepted: want the dial to fail", res.Results, res.Error, accepted.Load())
	}
	t.Logf("the snippet saw: %v", res.Results)
}

func TestTuneIssue12_FilesOutsideTheRun(t *testing.T) {
	r := newRunner(t, Options{})
	needProtection(t, r, "files")
	// A file any user may read, in a directory any user may enter: only
	// the sandbox keeps the snippet from it.
	dir, err := os.MkdirTemp("", "tune-secret-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("the user's secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	code := selfExec + `
func Run(paths string) string {
	out := ""
	for _, p := range splitLines(paths) {
		if b, err := os.ReadFile(p); err == nil {
			out += "read " + p + ": " + strconv.Quote(string(b[:min(len(b), 20)])) + "\n"
		} else {
			out += "denied " + p + "\n"
		}
	}
	if err := os.WriteFile(os.TempDir()+"/../tune-escape.txt", []byte("x"), 0o644); err == nil {
		out += "wrote outside\n"
	}
	if err := os.WriteFile("inside.txt", []byte("x"), 0o644); err != nil {
		out += "cannot write its own directory: " + err.Error() + "\n"
	}
	if _, err := time.LoadLocation("Europe/Paris"); err != nil {
		out += "no time zones: " + err.Error() + "\n"
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}
`
	targets := []string{secret, "/etc/passwd", "/proc/1/environ", home + "/.bashrc"}
	res := mustRun(t, r, Request{Code: code, Input: strings.Join(targets, "\n")}, nil)
	if res.Error != "" || len(res.Results) != 1 {
		t.Fatalf("run: %q %v %q", res.Error, res.Results, res.Stderr)
	}
	got, _ := strconv.Unquote(res.Results[0])
	for _, p := range targets {
		if !strings.Contains(got, "denied "+p+"\n") {
			t.Errorf("%s was not denied", p)
		}
	}
	if strings.Contains(got, "wrote outside") || strings.Contains(got, "cannot write its own") || strings.Contains(got, "no time zones") {
		t.Errorf("writes: %s", got)
	}
	t.Logf("the snippet saw:\n%s", got)
}

func TestTuneIssue12_ProcessCount(t *testing.T) {
	r := newRunner(t, Options{MaxProcs: 64, Timeout: 30 * time.Second})
	needProtection(t, r, "process count")
	m := marker(t)
	code := selfExec + `
func Run(m string) string {
	for i := 0; i < 500; i++ {
		if err := start(&syscall.SysProcAttr{Setsid: true}, "sleeper", m); err != nil {
			return "stopped after " + strconv.Itoa(i) + ": " + err.Error()
		}
	}
	return "started 500"
}
`
	res := mustRun(t, r, Request{Code: code, Input: m}, nil)
	if len(res.Results) != 1 || !strings.Contains(res.Results[0], "stopped after") {
		t.Errorf("results %v error %q: want the snippet stopped by the process limit", res.Results, res.Error)
	}
	t.Logf("the snippet saw: %v", res.Results)
	if left := waitGone(m, 5*time.Second); len(left) > 0 {
		t.Errorf("%d processes left behind", len(left))
	}
}

// TestTuneIssue12_KillNineOfTune starts a tune runner in a process of its own
// (this test binary, re-run as helperTuneProcess), lets its snippet
// start children in sessions of their own, kills the runner's process
// with SIGKILL and checks that no process of the run is left, and that the
// next runner removes the temporary directory the dead one left.
func TestTuneIssue12_KillNineOfTune(t *testing.T) {
	r := newRunner(t, Options{})
	needProtection(t, r, "processes")
	m := marker(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ZEROGC_TUNE_HELPER="+m)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "tune dir: "); ok {
			dir = d
			break
		}
	}
	if dir == "" {
		t.Fatal("the helper did not print its directory")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	deadline := time.Now().Add(90 * time.Second)
	for len(processesWith(m)) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the snippet's children never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if left := waitGone(m, 5*time.Second); len(left) > 0 {
		t.Errorf("after kill -9 of tune, processes of the run are left: %v", left)
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the dead runner's directory %s is already gone (%v): the test checks nothing", dir, err)
	}
	r2, err := NewRunner(Options{})
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the directory of the killed runner is still there after a new runner started: %v", err)
	}
}

// helperTuneProcess is the tune process that TestTuneIssue12_KillNineOfTune
// kills: TestMain runs it instead of the tests when ZEROGC_TUNE_HELPER is
// set.
func helperTuneProcess(m string) {
	r, err := NewRunner(Options{Timeout: time.Minute})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("tune dir: %s\n", r.dir)
	code := selfExec + `
func Run(m string) string {
	for i := 0; i < 3; i++ {
		if err := start(&syscall.SysProcAttr{Setsid: true}, "sleeper", m); err != nil {
			return err.Error()
		}
	}
	time.Sleep(time.Hour)
	return ""
}
`
	_, _ = r.Run(context.Background(), Request{Code: code, Input: m}, nil)
	runtime.KeepAlive(r)
	os.Exit(0)
}

// TestTuneIssue12_StopEndsTheRun: Stop ends a run at once and the result
// says it was stopped, not "exit code -1"; Stop with no run in progress
// reports false.
func TestTuneIssue12_StopEndsTheRun(t *testing.T) {
	r := newRunner(t, Options{Timeout: time.Minute})
	if r.Stop("nothing to stop") {
		t.Error("Stop reported a run while none was in progress")
	}
	code := "package main\n\nfunc Spin(s string) int {\n\tfor {\n\t}\n}\n"
	stopped := make(chan time.Time, 1)
	res := mustRun(t, r, Request{Code: code}, func(ev Event) {
		if ev.Status == "running" {
			go func() {
				time.Sleep(300 * time.Millisecond)
				r.Stop("stopped by the test")
				stopped <- time.Now()
			}()
		}
	})
	at := <-stopped
	if d := time.Since(at); d > 2*time.Second {
		t.Errorf("the run ended %v after Stop", d)
	}
	if res.Killed != "stopped" || res.Error != "stopped: stopped by the test" || res.Signal != "killed" {
		t.Errorf("killed=%q error=%q signal=%q, want stopped by the test, killed by a signal", res.Killed, res.Error, res.Signal)
	}
}

// TestTuneIssue12_StopRace calls Stop from many goroutines while runs
// start and end: no run is stopped twice or left unstoppable, and the
// race detector sees the stopper handed over cleanly.
func TestTuneIssue12_StopRace(t *testing.T) {
	r := newRunner(t, Options{Timeout: time.Minute})
	code := "package main\n\nimport \"time\"\n\nfunc Wait(s string) int {\n\ttime.Sleep(time.Minute)\n\treturn 1\n}\n"
	done := make(chan struct{})
	var stops atomic.Int32
	for i := 0; i < 4; i++ {
		go func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if r.Stop("race") {
					stops.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	for i := 0; i < 3; i++ {
		res, err := r.Run(context.Background(), Request{Code: code}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Killed != "stopped" || !strings.Contains(res.Error, "race") {
			t.Errorf("run %d: killed=%q error=%q, want stopped", i, res.Killed, res.Error)
		}
	}
	close(done)
	if stops.Load() < 3 {
		t.Errorf("%d successful Stops for 3 runs", stops.Load())
	}
}

// TestTuneIssue12_WeakerSandboxes makes the runner believe the kernel lacks
// user namespaces, then namespaces altogether, then Landlock: it still
// runs snippets, and says which protections are off and what that means.
func TestTuneIssue12_WeakerSandboxes(t *testing.T) {
	code := "package main\n\nfunc Add(s string) int { return len(s) + 1 }\n"
	for _, c := range []struct {
		name       string
		level      sandboxLevel
		noLandlock bool
		off        []string
		rootOnly   bool
	}{
		{"namespaces without a user namespace", levelRootNS, false, nil, true},
		{"a process group only", levelNone, false, []string{"processes", "network"}, false},
		{"no Landlock", levelUserNS, true, []string{"files"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.rootOnly && os.Geteuid() != 0 {
				t.Skip("skipping: namespaces without a user namespace need root")
			}
			probeLimit.maxLevel, probeLimit.noLandlock = c.level, c.noLandlock
			defer func() { probeLimit.maxLevel, probeLimit.noLandlock = levelUserNS, false }()
			r := newRunner(t, Options{})
			var off []string
			for _, p := range r.Protections() {
				if !p.On {
					off = append(off, p.Name)
					if !strings.Contains(p.How, "off") {
						t.Errorf("%s is off but says %q", p.Name, p.How)
					}
				}
			}
			if strings.Join(off, ",") != strings.Join(c.off, ",") {
				t.Errorf("protections off: %v, want %v", off, c.off)
			}
			res := mustRun(t, r, Request{Code: code, Input: "abc"}, nil)
			if res.Error != "" || len(res.Results) != 1 || res.Results[0] != "4" {
				t.Errorf("run: error %q results %v stderr %q", res.Error, res.Results, res.Stderr)
			}
		})
	}
}

// TestStageSkipsPathsItsUserCannotReach: tune run as root runs snippets as
// nobody, and a path of the run's read-only list that nobody cannot reach
// (the installed GOROOT under a home directory of mode 0700, as a
// toolchain that GOTOOLCHAIN fetched into the module cache is) must not
// stop the run: the stage once failed with "landlock: opening ...:
// permission denied" there.
func TestStageSkipsPathsItsUserCannotReach(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: only a run switched from root to nobody meets a path its user cannot reach")
	}
	sb := probeSandbox()
	if sb.exe == "" || sb.landlock == 0 {
		msg := fmt.Sprintf("the sandbox stage or Landlock is off on this machine: %s %s", sb.nsErr, sb.llErr)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg)
	}
	home := t.TempDir()
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	goroot := filepath.Join(home, "goroot")
	if err := os.Mkdir(goroot, 0o755); err != nil {
		t.Fatal(err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("skipping: no true command in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := sb.command(ctx, stageConfig{
		Path: truePath, Args: []string{"true"}, Dir: "/",
		Landlock: true,
		ReadOnly: []string{goroot, "/usr", "/lib", "/lib64", "/bin", "/etc"},
		NoExec:   []string{goroot},
	}, true)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("a run whose read-only list names %s (unreachable for its user) failed: %v\n%s", goroot, err, out)
	}
}
