package tune

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options are the limits and settings of a Runner. The zero value of each
// field means its default.
type Options struct {
	// Timeout is the wall-clock limit of one run of a snippet (default
	// 10s). The build has its own limit, BuildTimeout.
	Timeout time.Duration
	// MemoryLimit is the most resident memory a snippet may use, in bytes
	// (default 512 MiB). The child also gets it as GOMEMLIMIT.
	MemoryLimit int64
	// MaxOutput is how much of stdout and of stderr is kept (default 1 MiB
	// each); the rest is read and dropped.
	MaxOutput int
	// SampleInterval is how often the child samples runtime/metrics
	// (default 5ms, 200 Hz).
	SampleInterval time.Duration
	// BuildTimeout bounds "go build" (default 3 minutes: the first Debug
	// build compiles the standard library without optimisations).
	BuildTimeout time.Duration
	// Go is the go command (default: "go" found in PATH). tune asks it for
	// its GOROOT and builds with that toolchain's own go command.
	Go string
	// MaxProcs is how many processes and threads a run may have at once
	// (default 256; RLIMIT_NPROC in the run's user namespace). A Go
	// program has about ten threads.
	MaxProcs int
}

func (o *Options) fill() error {
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = 512 << 20
	}
	if o.MaxOutput == 0 {
		o.MaxOutput = 1 << 20
	}
	if o.SampleInterval == 0 {
		o.SampleInterval = 5 * time.Millisecond
	}
	if o.BuildTimeout == 0 {
		o.BuildTimeout = 3 * time.Minute
	}
	if o.MaxProcs == 0 {
		o.MaxProcs = 256
	}
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("timeout %v is negative: give a positive duration such as 10s", o.Timeout)
	case o.MemoryLimit < 16<<20:
		return fmt.Errorf("memory limit %d bytes is too small for a Go program: give at least 16 MiB", o.MemoryLimit)
	case o.SampleInterval < time.Millisecond || o.SampleInterval > 100*time.Millisecond:
		return fmt.Errorf("sample interval %v is out of range: give 1ms to 100ms (at least 10 Hz)", o.SampleInterval)
	case o.MaxOutput < 0:
		return fmt.Errorf("output limit %d is negative", o.MaxOutput)
	case o.MaxProcs < 16:
		return fmt.Errorf("process limit %d is too small: a Go program needs about ten threads; give at least 16", o.MaxProcs)
	}
	if o.Go == "" {
		p, err := exec.LookPath("go")
		if err != nil {
			return fmt.Errorf("tune builds snippets with the go command, which is not in PATH: install Go or put its bin directory in PATH (%v)", err)
		}
		o.Go = p
	}
	return nil
}

// Limits on what a request may carry.
const (
	maxCodeBytes  = 256 << 10
	maxInputBytes = 64 << 10
)

// ErrBusy is returned by Runner.Run while another run is in progress.
var ErrBusy = errors.New("another snippet is running: wait for it to finish, then run again")

// Runner builds and runs snippets, one at a time, in a temporary directory
// and a sandbox (see Protections).
type Runner struct {
	opt  Options
	dir  string   // the runner's directory: mod/ (the module), run/ (the run's own), tmp/
	lock *os.File // held (flock) while the runner lives, so a later tune can tell a dead one's directory
	lang string   // the go command's language version, such as "1.26", for the go.mod of a snippet
	env  goEnv
	sb   *sandbox
	busy atomic.Bool // true while a Run owns dir; taken by CompareAndSwap(false, true)
	// stop ends the run in progress: set by Run while it owns dir, read
	// by Stop from any goroutine.
	stop atomic.Pointer[stopper]
	// knobs are the checked knobs of the run in progress (knobs.go): set
	// by Run while it owns the runner (busy), read by build and execute.
	knobs Knobs
	tc    toolchains // other Go releases (goversion.go)
	// zoneinfo is the runner's copy of the installed toolchain's time
	// zone database (lib/time/zoneinfo.zip), which runs read through
	// ZONEINFO: a run as another user cannot always reach GOROOT (under a
	// home directory of mode 0700), but reaches the runner's directory.
	// Empty when GOROOT has no database.
	zoneinfo string
}

// claim takes the runner for one request (Run or SSA), or returns ErrBusy
// while another holds it. The request runs under the returned context,
// which Stop cancels through st; release gives the runner back.
func (r *Runner) claim(ctx context.Context) (_ context.Context, st *stopper, release func(), err error) {
	if !r.busy.CompareAndSwap(false, true) {
		return nil, nil, nil, ErrBusy
	}
	ctx, cancel := context.WithCancel(ctx)
	st = &stopper{cancel: cancel}
	r.stop.Store(st)
	return ctx, st, func() {
		r.stop.Store(nil)
		cancel()
		r.busy.Store(false)
	}, nil
}

// checkModeAndSize returns the request's mode, "release" (the default) or
// "debug", or an error for another mode or a snippet over maxCodeBytes.
func checkModeAndSize(mode, code string) (string, error) {
	m := strings.ToLower(strings.TrimSpace(mode))
	switch m {
	case "":
		m = "release"
	case "release", "debug":
	default:
		return "", fmt.Errorf("unknown mode %q: use \"release\" or \"debug\"", mode)
	}
	if len(code) > maxCodeBytes {
		return "", fmt.Errorf("the snippet is %d bytes; the limit is %d", len(code), maxCodeBytes)
	}
	return m, nil
}

// stopper cancels one run and says why.
type stopper struct {
	cancel context.CancelFunc
	why    atomic.Pointer[string]
}

// goEnv is what the go command says about itself.
type goEnv struct {
	version, root, cache, modCache string
}

// dirPrefix starts the name of every runner's directory; the owner's pid
// follows it.
const dirPrefix = "zerogc-tune-"

// NewRunner returns a Runner with the given options. It probes which
// protections the kernel allows (Protections), and removes the
// directories that runners of killed tune processes left behind. Close
// removes its own.
func NewRunner(opt Options) (*Runner, error) {
	if err := platformError(); err != nil {
		return nil, err
	}
	if err := opt.fill(); err != nil {
		return nil, err
	}
	env, err := queryGoEnv(opt.Go)
	if err != nil {
		return nil, err
	}
	m := goVersionRE.FindStringSubmatch(env.version)
	if m == nil {
		return nil, fmt.Errorf("%s reports version %q, which tune does not understand", opt.Go, env.version)
	}
	// Build with the selected toolchain's own go command, so that GOROOT
	// and the command agree (GOTOOLCHAIN may have switched).
	if g := filepath.Join(env.root, "bin", "go"); fileExists(g) {
		opt.Go = g
	}
	removeStaleDirs(os.TempDir())
	dir, err := os.MkdirTemp("", dirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	r := &Runner{opt: opt, dir: dir, lock: lock, lang: m[1], env: env, sb: probeSandbox(), tc: toolchains{installed: env}}
	// A run as another user (nobody, when tune is root) must be able to
	// reach its directory inside this one.
	if r.sb.runUID != os.Geteuid() {
		if err := os.Chmod(dir, 0o711); err != nil {
			r.Close()
			return nil, err
		}
	}
	if zi, err := os.ReadFile(filepath.Join(env.root, "lib", "time", "zoneinfo.zip")); err == nil {
		r.zoneinfo = filepath.Join(dir, "zoneinfo.zip")
		if err := os.WriteFile(r.zoneinfo, zi, 0o644); err != nil {
			r.Close()
			return nil, fmt.Errorf("copying the time zone database: %w", err)
		}
	}
	return r, nil
}

// goVersionRE matches the language version in "go1.26.8" or "go1.27rc1".
var goVersionRE = regexp.MustCompile(`^go(\d+\.\d+)`)

// queryGoEnv asks the go command, with the user's environment, for its
// version, GOROOT and caches. Builds then run with exactly these and no
// other setting of the user's (GOENV=off), so nothing the user's go env
// file or environment says (GOFLAGS=-toolexec=..., CC) reaches them.
func queryGoEnv(goCmd string) (goEnv, error) {
	out, err := exec.Command(goCmd, "env", "GOVERSION", "GOROOT", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		return goEnv{}, fmt.Errorf("running %s env: %v", goCmd, err)
	}
	l := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(l) != 4 {
		return goEnv{}, fmt.Errorf("%s env printed %q, want four lines", goCmd, out)
	}
	e := goEnv{version: strings.TrimSpace(l[0]), root: l[1], cache: l[2], modCache: l[3]}
	if e.cache == "" || e.cache == "off" {
		return goEnv{}, fmt.Errorf("the go build cache is off (GOCACHE=%q): tune needs it; unset GOCACHE or point it at a directory", e.cache)
	}
	return e, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Options returns the runner's options with the defaults filled in.
func (r *Runner) Options() Options { return r.opt }

// Protections says, one by one, how the runner's sandbox protects the
// machine from a snippet on this kernel, and which protections are off
// and why.
func (r *Runner) Protections() []Protection { return r.sb.protections(r.opt) }

// Stop ends the run in progress, if any, at once; its Result says
// "stopped" and why. It reports whether there was a run to stop.
func (r *Runner) Stop(why string) bool {
	s := r.stop.Load()
	if s == nil {
		return false
	}
	// The first reason wins: why is set once, before the cancel that
	// makes the run read it, so a later Stop cannot change what an
	// earlier one's result says.
	s.why.CompareAndSwap(nil, &why)
	s.cancel()
	return true
}

// Close removes the runner's temporary directory. A run in progress must
// have finished.
func (r *Runner) Close() error {
	err := removeTree(r.dir)
	if r.lock != nil {
		r.lock.Close()
	}
	return err
}

// Run builds the snippet of req in a temporary module, runs it as a child
// process within the runner's limits and returns what it produced. onEvent,
// if not nil, receives status changes and the live samples and cycles while
// the child runs; it must not block. Run returns ErrBusy when another run
// is in progress, and an error for a request it cannot run (no entry
// function, too large, unknown mode); a snippet that fails to compile,
// crashes or is killed is a Result with Error set.
func (r *Runner) Run(ctx context.Context, req Request, onEvent func(Event)) (*Result, error) {
	ctx, st, release, err := r.claim(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	mode, err := checkModeAndSize(req.Mode, req.Code)
	if err != nil {
		return nil, err
	}
	if len(req.Input) > maxInputBytes {
		return nil, fmt.Errorf("the input is %d bytes; the limit is %d", len(req.Input), maxInputBytes)
	}
	if req.Baseline != nil && !req.Bench {
		return nil, errors.New(`a baseline is compared with a benchmark run: add "bench": true`)
	}
	restore, err := r.switchToolchain(ctx, req.Go, onEvent)
	if err != nil {
		return nil, err
	}
	defer restore()
	res := &Result{Mode: mode, GoVersion: r.env.version}
	if err := r.setKnobs(req, res); err != nil {
		return nil, err
	}
	p, syntax, err := prepare(req.Code, req.Input, r.opt.SampleInterval, r.lang, req.Bench)
	if err != nil {
		return nil, err
	}
	var count int
	var benchtime string
	if req.Bench {
		if count, benchtime, err = benchSettings(req.Count, req.Benchtime, len(p.Benchmarks), r.opt.Timeout); err != nil {
			return nil, err
		}
	}
	if syntax != nil {
		res.CompileErrors = syntax
		res.Error = "the snippet does not parse"
		return res, nil
	}
	res.Entry = p.Entry.Name

	onEvent(Event{Type: "status", Status: "building"})
	mod := filepath.Join(r.dir, "mod")
	if err := writeModule(mod, p.Files); err != nil {
		return nil, err
	}
	runDir := filepath.Join(r.dir, "run")
	if err := removeTree(runDir); err != nil {
		return nil, fmt.Errorf("cleaning the run directory: %w", err)
	}
	if err := os.Mkdir(runDir, 0o700); err != nil {
		return nil, err
	}
	bin := filepath.Join(runDir, binName)
	start := time.Now()
	out, buildErr := r.build(ctx, mod, bin, mode, req.Bench)
	res.BuildMs = msSince(start)
	if buildErr != nil {
		res.CompileErrors = parseCompileErrors(out)
		res.BuildOutput = strings.TrimSpace(out)
		res.Error = "the snippet does not compile"
		if ctx.Err() != nil {
			res.Error = "the build was stopped: " + stopReason(st)
			res.Killed = "stopped"
		} else if len(res.CompileErrors) == 0 {
			res.Error = "go build failed: " + buildErr.Error()
		}
		onEvent(Event{Type: "status", Status: "done"})
		return res, nil
	}
	res.Escapes = parseEscapes(out)
	res.Assembly = parseAssembly(out, req.Code)
	res.BoundsChecks = parseBoundsChecks(out)
	res.Inlining = inlining(res.Escapes)
	onEvent(Event{Type: "status", Status: "checking"})
	res.Noalloc = r.checkNoalloc(ctx, mod)

	// The run's directory and binary belong to the run's user.
	if uid := r.sb.runUID; uid != os.Geteuid() {
		for _, p := range []string{runDir, bin} {
			if err := os.Lchown(p, uid, uid); err != nil {
				return nil, fmt.Errorf("handing the run directory to uid %d: %w", uid, err)
			}
		}
	}
	onEvent(Event{Type: "status", Status: "running"})
	if req.Bench {
		r.execute(ctx, st, runDir, benchArgs(bin, count, benchtime), false, res, onEvent)
		r.finishBench(res, count, benchtime, req.Baseline)
	} else {
		r.execute(ctx, st, runDir, []string{bin}, true, res, onEvent)
	}
	res.Panic, res.PanicLine = cleanStack(res.Panic, mod, r.env.root)
	res.Stderr, _ = cleanStack(res.Stderr, mod, r.env.root)
	onEvent(Event{Type: "status", Status: "done"})
	return res, nil
}

// binName is the snippet's executable, in the run's directory.
const binName = "snippet.bin"

// stopReason says why a run's context ended.
func stopReason(st *stopper) string {
	if w := st.why.Load(); w != nil {
		return *w
	}
	return "the request was canceled"
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// writeModule replaces dir with the given files.
func writeModule(dir string, files map[string]string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cleaning the build directory: %w", err)
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// build runs go build in the temporary module, with the compiler printing
// the assembly (-S) and the escape-analysis and inlining decisions (-m=2) of
// the snippet's package. The standard library comes from the normal build
// cache; nothing is fetched from the network. A snippet cannot run code
// while it is built: cgo is off (so no #cgo flags and no C compiler),
// go generate does not run, the flags are tune's own and the environment
// is exactly the one below (GOENV=off: no user settings, no -toolexec).
// The build runs in the sandbox too (see README.md), with the build cache
// and GOROOT reachable.
//
// With bench it builds the package's test binary (go test -c), which runs
// the snippet's benchmarks, with the same flags.
func (r *Runner) build(ctx context.Context, mod, bin, mode string, bench bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opt.BuildTimeout)
	defer cancel()
	// No -trimpath: the standard library then shares the build cache
	// with ordinary builds; normalizeOutput removes the temporary paths.
	args := []string{r.goCommand(), "build", "-o", bin}
	if bench {
		args = []string{r.goCommand(), "test", "-c", "-vet=off", "-o", bin}
	}
	if mode == "debug" {
		args = append(args, "-gcflags=all=-N -l", "-gcflags="+snippetPkg+"=-N -l -S -m=2 -d=ssa/check_bce/debug=1"+r.knobs.gcflags())
	} else {
		args = append(args, "-gcflags="+snippetPkg+"=-S -m=2 -d=ssa/check_bce/debug=1"+r.knobs.gcflags())
	}
	if bench {
		args = append(args, "./snippet")
	} else {
		args = append(args, ".")
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "tmp"), 0o700); err != nil {
		return "", err
	}
	cmd := r.sb.command(ctx, r.buildStage(mod, args[0], args), false)
	cmd.WaitDelay = 5 * time.Second
	// The assembly of a large snippet is large; keep a bounded amount.
	buf := &capBuffer{max: maxBuildOutput}
	cmd.Stdout = buf
	cmd.Stderr = buf
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("go build took longer than %v", r.opt.BuildTimeout)
	}
	out, _ := buf.result()
	if strings.Contains(out, "zerogc-tune-sandbox: ") {
		err = errors.New("the build's sandbox could not be set up: " + strings.TrimSpace(out))
	}
	return normalizeOutput(out, mod), err
}

// buildStage is the sandbox of a build: the go command (run by the
// program path with args) gets exactly this environment, may read GOROOT
// and the module cache and write the runner's directory and the build
// cache.
func (r *Runner) buildStage(mod, path string, args []string) stageConfig {
	tmp := filepath.Join(r.dir, "tmp")
	env := []string{
		"PATH=" + filepath.Join(r.env.root, "bin") + ":/usr/bin:/bin",
		"HOME=" + tmp,
		"GOROOT=" + r.env.root, "GOCACHE=" + r.env.cache, "GOMODCACHE=" + r.env.modCache,
		"GOPATH=" + filepath.Join(tmp, "gopath"), "GOTMPDIR=" + tmp,
		"GOENV=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GO111MODULE=on",
		"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOTELEMETRY=off",
	}
	return stageConfig{
		Path: path, Args: args, Env: env, Dir: mod, Landlock: true,
		ReadOnly:  []string{r.env.root, r.env.modCache},
		NoExec:    []string{r.env.modCache},
		ReadWrite: []string{r.dir, r.env.cache, "/dev/null"},
	}
}

// normalizeOutput rewrites the paths of the temporary module in the go
// command's output: the snippet becomes "snippet.go".
func normalizeOutput(out, mod string) string {
	out = strings.ReplaceAll(out, mod+string(filepath.Separator), "")
	return strings.NewReplacer(
		snippetPkg+"/"+snippetFile, snippetFile,
		"./snippet/"+snippetFile, snippetFile,
		"snippet/"+snippetFile, snippetFile,
	).Replace(out)
}

// capBuffer keeps the first max bytes written to it and drops the rest.
type capBuffer struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func (b *capBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - len(b.buf)
	if room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf = append(b.buf, p[:room]...)
		}
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *capBuffer) result() (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf), b.truncated
}

// harnessEvent is one JSON line the harness writes on descriptor 3.
type harnessEvent struct {
	Ev string `json:"ev"`
	// sample
	T       int64  `json:"t"`
	InUse   uint64 `json:"inuse"`
	Live    uint64 `json:"live"`
	Goal    uint64 `json:"goal"`
	Alloc   uint64 `json:"alloc"`
	Objects uint64 `json:"objects"`
	Cycles  uint64 `json:"cycles"`
	Forced  uint64 `json:"forced"`
	// layouts
	Layouts []Layout `json:"layouts"`
	// settings
	Settings *RuntimeSettings `json:"settings"`
	// call
	Start   int64    `json:"start"`
	End     int64    `json:"end"`
	Bytes   uint64   `json:"bytes"`
	GCs     uint32   `json:"gcs"`
	Threads int      `json:"threads"`
	Results []string `json:"results"`
	Panic   string   `json:"panic"`
	// done
	Sites       []Site      `json:"sites"`
	CallLines   []LineAlloc `json:"callLines"` // lineallocs.go
	NumGC       uint32      `json:"numGC"`
	NumForcedGC uint32      `json:"numForcedGC"`
	Error       string      `json:"error"`
}

// execute runs the built snippet (args[0]) in the sandbox and fills res.
// harness says the program is tune's harness, which reports the call and
// the runtime's gctrace lines; otherwise it is a test binary running
// benchmarks, whose output is in res.Stdout.
func (r *Runner) execute(ctx context.Context, st *stopper, runDir string, args []string, harness bool, res *Result, onEvent func(Event)) {
	bin := args[0]
	stdout := &capBuffer{max: r.opt.MaxOutput}
	stderr := &capBuffer{max: r.opt.MaxOutput}
	var pipes [4]struct{ r, w *os.File } // stdout, runtime stderr, events, user stderr
	for i := range pipes {
		pr, pw, err := os.Pipe()
		if err != nil {
			res.Error = "creating pipes: " + err.Error()
			for j := 0; j < i; j++ {
				pipes[j].r.Close()
				pipes[j].w.Close()
			}
			return
		}
		pipes[i].r, pipes[i].w = pr, pw
	}
	defer func() {
		for _, p := range pipes {
			p.r.Close()
		}
	}()
	// Address space: the memory limit plus what the runtime reserves.
	addressSpace := uint64(r.opt.MemoryLimit) + 4<<30
	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + runDir,
		"TMPDIR=" + runDir,
		"GOTRACEBACK=single",
		// /usr/share/zoneinfo is out of reach: time zones come
		// from the runner's copy of the installed toolchain's, also
		// for a snippet built by another release (see Runner.zoneinfo).
		"ZONEINFO=" + r.zoneinfo,
	}
	godebug := ""
	if harness {
		godebug = "gctrace=1"
	}
	env = append(env, r.knobs.env(r.opt.MemoryLimit, godebug)...)
	cmd := r.sb.command(context.Background(), stageConfig{
		Path: bin, Args: args, Dir: runDir,
		Env:          env,
		Landlock:     true,
		ReadOnly:     []string{r.tc.installed.root, r.zoneinfo},
		NoExec:       []string{r.tc.installed.root, r.zoneinfo},
		ReadWrite:    []string{runDir, "/dev/null"},
		AddressSpace: addressSpace,
		Procs:        uint64(r.opt.MaxProcs),
	}, true)
	cmd.Stdin = nil
	cmd.Stdout = pipes[0].w
	cmd.Stderr = pipes[1].w
	cmd.ExtraFiles = []*os.File{pipes[2].w, pipes[3].w}

	t0 := time.Now()
	ms := func(unixNano int64) float64 { return float64(unixNano-t0.UnixNano()) / 1e6 }
	err := cmd.Start()
	for _, p := range pipes {
		p.w.Close()
	}
	if err != nil {
		res.Error = "starting the snippet: " + err.Error()
		return
	}
	pid := cmd.Process.Pid
	if r.sb.exe == "" { // no stage to set the limits
		if err := limitProcess(pid, addressSpace, uint64(r.opt.MaxProcs)); err != nil {
			killRun(pid)
			_ = cmd.Wait()
			res.Error = "limiting the snippet's memory: " + err.Error()
			return
		}
	}

	var (
		mu     sync.Mutex // guards res's samples, cycles and call fields, and killed
		killed string
		done   harnessEvent
		gotEnd bool
	)
	kill := func(why string) {
		mu.Lock()
		if killed == "" {
			killed = why
		}
		mu.Unlock()
		killRun(pid)
	}

	var readers sync.WaitGroup
	readers.Add(4)
	go func() { // stdout
		defer readers.Done()
		_, _ = io.Copy(stdout, pipes[0].r)
	}()
	go func() { // user stderr
		defer readers.Done()
		_, _ = io.Copy(stderr, pipes[3].r)
	}()
	go func() { // runtime stderr: gctrace lines and the rest
		defer readers.Done()
		br := bufio.NewReaderSize(pipes[1].r, 64<<10)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				if c, ok := parseGCTrace(strings.TrimSuffix(string(line), "\n")); ok {
					mu.Lock()
					if len(res.Cycles) < maxCycles {
						res.Cycles = append(res.Cycles, c)
					}
					mu.Unlock()
					onEvent(Event{Type: "cycle", Cycle: &c})
				} else {
					_, _ = stderr.Write(line)
				}
			}
			if err != nil && err != bufio.ErrBufferFull {
				return
			}
		}
	}()
	go func() { // harness events
		defer readers.Done()
		br := bufio.NewReaderSize(pipes[2].r, 64<<10)
		for {
			line, err := readLine(br, 64<<20)
			if len(line) > 0 {
				var ev harnessEvent
				if json.Unmarshal(line, &ev) == nil {
					mu.Lock()
					switch ev.Ev {
					case "sample":
						s := Sample{Ms: ms(ev.T), InUse: ev.InUse, Live: ev.Live, Goal: ev.Goal,
							Alloc: ev.Alloc, Objects: ev.Objects, Cycles: ev.Cycles, Forced: ev.Forced}
						if len(res.Samples) < maxSamples {
							res.Samples = append(res.Samples, s)
						}
						mu.Unlock()
						onEvent(Event{Type: "sample", Sample: &s})
						mu.Lock()
					case "layouts":
						res.Layouts = ev.Layouts
					case "settings":
						res.Runtime = ev.Settings
					case "call":
						res.CallStartMs, res.CallEndMs = ms(ev.Start), ms(ev.End)
						res.Results, res.Panic = ev.Results, ev.Panic
						res.Alloc = &Alloc{Bytes: ev.Bytes, Objects: ev.Objects, GCs: ev.GCs,
							NewThreads: max(ev.Threads, 0), DurationMs: float64(ev.End-ev.Start) / 1e6}
						mu.Unlock()
						onEvent(Event{Type: "call", CallMs: res.CallEndMs})
						mu.Lock()
					case "done":
						done = ev
						gotEnd = true
					}
					mu.Unlock()
				}
			}
			if err != nil {
				return
			}
		}
	}()

	// The wall-clock limit, the memory watchdog and the caller's context.
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		deadline := time.NewTimer(r.opt.Timeout)
		defer deadline.Stop()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				kill("stopped")
				return
			case <-deadline.C:
				kill("timeout")
				return
			case <-tick.C:
				// Every process of the run counts: the tree under
				// its first process (in a PID namespace, orphans
				// are re-parented to it, so none gets away).
				rss := treeResident(pid)
				mu.Lock()
				res.PeakMemory = max(res.PeakMemory, rss)
				mu.Unlock()
				if rss > uint64(r.opt.MemoryLimit) {
					kill("memory")
					return
				}
			}
		}
	}()

	waitErr := cmd.Wait()
	res.RunMs = msSince(t0)
	close(stop)
	watch.Wait()
	killRun(pid) // whatever the snippet started is gone too
	// A process the snippet started in another group could hold a pipe
	// open; do not wait for it for long.
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()
	select {
	case <-readersDone:
	case <-time.After(2 * time.Second):
		for _, p := range pipes {
			_ = p.r.SetReadDeadline(time.Now())
		}
		<-readersDone
	}

	mu.Lock()
	defer mu.Unlock()
	res.Stdout, res.StdoutTruncated = stdout.result()
	res.Stderr, res.StderrTruncated = stderr.result()
	if ps := cmd.ProcessState; ps != nil {
		res.ExitCode = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		}
	}
	res.Killed = killed
	switch killed {
	case "timeout":
		res.Error = fmt.Sprintf("killed: the snippet ran longer than the time limit (%v)", r.opt.Timeout)
	case "memory":
		res.Error = fmt.Sprintf("killed: the snippet's processes together used more than the memory limit (%d MiB resident, summed over every process of the run; %d MiB at the kill)", r.opt.MemoryLimit>>20, res.PeakMemory>>20)
	case "stopped":
		res.Error = "stopped: " + stopReason(st)
	default:
		if strings.Contains(res.Stderr, "zerogc-tune-sandbox: ") {
			res.Error = "the sandbox could not be set up: " + strings.TrimSpace(res.Stderr)
			break
		}
		if !harness {
			if waitErr != nil {
				res.Error = "the benchmarks failed (" + waitErr.Error() + "): see the output"
			}
			break
		}
		if waitErr != nil && !gotEnd {
			res.Error = "the snippet's process failed: " + waitErr.Error()
			if strings.Contains(res.Stderr, "out of memory") {
				res.Killed = "memory"
				res.Error = fmt.Sprintf("stopped: the snippet ran out of its memory limit (%d MiB)", r.opt.MemoryLimit>>20)
			}
		} else if !gotEnd {
			res.Error = "the snippet exited before its function returned (did it call os.Exit?)"
		}
	}
	if res.Panic != "" && res.Error == "" {
		res.Error = "the function panicked"
	}
	if gotEnd {
		res.NumGC, res.NumForcedGC = done.NumGC, done.NumForcedGC
		if res.Alloc != nil {
			res.Alloc.Lines = allocLines(done.Sites, done.CallLines) // lineallocs.go
		}
		sort.Slice(done.Sites, func(i, j int) bool { return done.Sites[i].Bytes > done.Sites[j].Bytes })
		if len(done.Sites) > maxSites {
			done.Sites = done.Sites[:maxSites]
		}
		if res.Alloc != nil {
			res.Alloc.Sites = done.Sites
		}
		res.CyclesComplete = cyclesComplete(res.Cycles, done.NumGC, done.NumForcedGC)
		// The last collection before "done" is the one tune forced for
		// the allocation profile.
		for i := range res.Cycles {
			if res.Cycles[i].N == int(done.NumGC) && res.Cycles[i].Forced {
				res.Cycles[i].ByTune = true
			}
		}
	}
	sort.Slice(res.Cycles, func(i, j int) bool { return res.Cycles[i].N < res.Cycles[j].N })
}

// Bounds on what one run keeps.
const (
	maxBuildOutput = 64 << 20
	maxCycles      = 100000
	maxSamples     = 100000
	maxSites       = 30
)

// readLine reads one line of at most max bytes (a longer one is cut).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) <= max {
			line = append(line, chunk...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// cyclesComplete reports whether cycles holds each collection 1..numGC
// exactly once and the forced ones among them number numForced.
func cyclesComplete(cycles []Cycle, numGC, numForced uint32) bool {
	seen := make(map[int]bool, len(cycles))
	forced := uint32(0)
	for _, c := range cycles {
		if c.N < 1 || c.N > int(numGC) {
			continue
		}
		if seen[c.N] {
			return false
		}
		seen[c.N] = true
		if c.Forced {
			forced++
		}
	}
	return len(seen) == int(numGC) && forced == numForced
}
