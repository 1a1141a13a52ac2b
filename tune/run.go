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
	// Go is the go command (default: "go" found in PATH).
	Go string
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
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("timeout %v is negative: give a positive duration such as 10s", o.Timeout)
	case o.MemoryLimit < 16<<20:
		return fmt.Errorf("memory limit %d bytes is too small for a Go program: give at least 16 MiB", o.MemoryLimit)
	case o.SampleInterval < time.Millisecond || o.SampleInterval > 100*time.Millisecond:
		return fmt.Errorf("sample interval %v is out of range: give 1ms to 100ms (at least 10 Hz)", o.SampleInterval)
	case o.MaxOutput < 0:
		return fmt.Errorf("output limit %d is negative", o.MaxOutput)
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

// Runner builds and runs snippets, one at a time, in a temporary module.
type Runner struct {
	opt  Options
	dir  string
	lang string      // the go command's language version, such as "1.26", for the go.mod of a snippet
	busy atomic.Bool // true while a Run owns dir; taken by CompareAndSwap(false, true)
}

// NewRunner returns a Runner with the given options. Close removes its
// temporary directory.
func NewRunner(opt Options) (*Runner, error) {
	if err := platformError(); err != nil {
		return nil, err
	}
	if err := opt.fill(); err != nil {
		return nil, err
	}
	lang, err := goLanguageVersion(opt.Go)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "zerogc-tune-")
	if err != nil {
		return nil, fmt.Errorf("creating the build directory: %w", err)
	}
	return &Runner{opt: opt, dir: dir, lang: lang}, nil
}

// goVersionRE matches the language version in "go1.26.8" or "go1.27rc1".
var goVersionRE = regexp.MustCompile(`^go(\d+\.\d+)`)

// goLanguageVersion asks the go command for its version, so that a snippet
// may use everything the toolchain supports (range over int, iterators...).
func goLanguageVersion(goCmd string) (string, error) {
	out, err := exec.Command(goCmd, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("running %s env GOVERSION: %v", goCmd, err)
	}
	m := goVersionRE.FindStringSubmatch(strings.TrimSpace(string(out)))
	if m == nil {
		return "", fmt.Errorf("%s reports version %q, which tune does not understand", goCmd, strings.TrimSpace(string(out)))
	}
	return m[1], nil
}

// Options returns the runner's options with the defaults filled in.
func (r *Runner) Options() Options { return r.opt }

// Close removes the runner's temporary directory. A run in progress must
// have finished.
func (r *Runner) Close() error {
	return os.RemoveAll(r.dir)
}

// Run builds the snippet of req in a temporary module, runs it as a child
// process within the runner's limits and returns what it produced. onEvent,
// if not nil, receives status changes and the live samples and cycles while
// the child runs; it must not block. Run returns ErrBusy when another run
// is in progress, and an error for a request it cannot run (no entry
// function, too large, unknown mode); a snippet that fails to compile,
// crashes or is killed is a Result with Error set.
func (r *Runner) Run(ctx context.Context, req Request, onEvent func(Event)) (*Result, error) {
	if !r.busy.CompareAndSwap(false, true) {
		return nil, ErrBusy
	}
	defer r.busy.Store(false)
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	mode := strings.ToLower(strings.TrimSpace(req.Mode))
	switch mode {
	case "":
		mode = "release"
	case "release", "debug":
	default:
		return nil, fmt.Errorf("unknown mode %q: use \"release\" or \"debug\"", req.Mode)
	}
	if len(req.Code) > maxCodeBytes {
		return nil, fmt.Errorf("the snippet is %d bytes; the limit is %d", len(req.Code), maxCodeBytes)
	}
	if len(req.Input) > maxInputBytes {
		return nil, fmt.Errorf("the input is %d bytes; the limit is %d", len(req.Input), maxInputBytes)
	}
	res := &Result{Mode: mode}
	p, syntax, err := prepare(req.Code, req.Input, r.opt.SampleInterval, r.lang)
	if err != nil {
		return nil, err
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
	bin := filepath.Join(r.dir, "snippet.bin")
	start := time.Now()
	out, buildErr := r.build(ctx, mod, bin, mode)
	res.BuildMs = msSince(start)
	if buildErr != nil {
		res.CompileErrors = parseCompileErrors(out)
		res.BuildOutput = strings.TrimSpace(out)
		res.Error = "the snippet does not compile"
		if ctx.Err() != nil {
			res.Error = "the build was canceled: " + ctx.Err().Error()
		} else if len(res.CompileErrors) == 0 {
			res.Error = "go build failed: " + buildErr.Error()
		}
		onEvent(Event{Type: "status", Status: "done"})
		return res, nil
	}
	res.Escapes = parseEscapes(out)
	res.Assembly = parseAssembly(out, req.Code)

	onEvent(Event{Type: "status", Status: "running"})
	r.execute(ctx, bin, res, onEvent)
	onEvent(Event{Type: "status", Status: "done"})
	return res, nil
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
// cache; nothing is fetched from the network.
func (r *Runner) build(ctx context.Context, mod, bin, mode string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opt.BuildTimeout)
	defer cancel()
	// No -trimpath: the standard library then shares the build cache
	// with ordinary builds; normalizeOutput removes the temporary paths.
	args := []string{"build", "-o", bin}
	if mode == "debug" {
		args = append(args, "-gcflags=all=-N -l", "-gcflags="+snippetPkg+"=-N -l -S -m=2")
	} else {
		args = append(args, "-gcflags="+snippetPkg+"=-S -m=2")
	}
	args = append(args, ".")
	cmd := exec.CommandContext(ctx, r.opt.Go, args...)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(),
		"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GO111MODULE=on",
		"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOOS=", "GOARCH=",
	)
	setupChild(cmd)
	cmd.Cancel = func() error {
		killGroup(cmd.Process.Pid)
		return nil
	}
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
	return normalizeOutput(out, mod), err
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
	// call
	Start   int64    `json:"start"`
	End     int64    `json:"end"`
	Bytes   uint64   `json:"bytes"`
	GCs     uint32   `json:"gcs"`
	Threads int      `json:"threads"`
	Results []string `json:"results"`
	Panic   string   `json:"panic"`
	// done
	Sites       []Site `json:"sites"`
	NumGC       uint32 `json:"numGC"`
	NumForcedGC uint32 `json:"numForcedGC"`
	Error       string `json:"error"`
}

// execute runs the built snippet and fills res.
func (r *Runner) execute(ctx context.Context, bin string, res *Result, onEvent func(Event)) {
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
	cmd := exec.Command(bin)
	cmd.Dir = r.dir
	cmd.Env = []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + r.dir,
		"TMPDIR=" + r.dir,
		"GODEBUG=gctrace=1",
		"GOMEMLIMIT=" + strconv.FormatInt(r.opt.MemoryLimit, 10),
		"GOTRACEBACK=single",
	}
	cmd.Stdin = nil
	cmd.Stdout = pipes[0].w
	cmd.Stderr = pipes[1].w
	cmd.ExtraFiles = []*os.File{pipes[2].w, pipes[3].w}
	setupChild(cmd)

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
	// Address space: the memory limit plus what the runtime reserves.
	if err := limitAddressSpace(pid, uint64(r.opt.MemoryLimit)+4<<30); err != nil {
		killGroup(pid)
		_ = cmd.Wait()
		res.Error = "limiting the snippet's memory: " + err.Error()
		return
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
		killGroup(pid)
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
				kill("canceled")
				return
			case <-deadline.C:
				kill("timeout")
				return
			case <-tick.C:
				if rss, err := residentBytes(pid); err == nil && rss > uint64(r.opt.MemoryLimit) {
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
	killGroup(pid) // whatever the snippet started is gone too
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
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	res.Killed = killed
	switch killed {
	case "timeout":
		res.Error = fmt.Sprintf("killed: the snippet ran longer than the time limit (%v)", r.opt.Timeout)
	case "memory":
		res.Error = fmt.Sprintf("killed: the snippet used more than the memory limit (%d MiB resident)", r.opt.MemoryLimit>>20)
	case "canceled":
		res.Error = "killed: the run was canceled"
	default:
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
