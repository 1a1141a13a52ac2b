package tune

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newRunner(t *testing.T, opt Options) *Runner {
	t.Helper()
	r, err := NewRunner(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func mustRun(t *testing.T, r *Runner, req Request, onEvent func(Event)) *Result {
	t.Helper()
	res, err := r.Run(context.Background(), req, onEvent)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

// TestRunAllocatingSample runs the allocating sample through the whole
// pipeline and checks every part of the result against the sample's code.
func TestRunAllocatingSample(t *testing.T) {
	s, _ := SampleByID("alloc")
	r := newRunner(t, Options{})
	var mu sync.Mutex
	events := map[string]int{}
	res := mustRun(t, r, Request{Code: s.Code, Input: "2000"}, func(ev Event) {
		mu.Lock()
		events[ev.Type]++
		mu.Unlock()
	})
	if res.Error != "" {
		t.Fatalf("run failed: %s\n%s\n%s", res.Error, res.BuildOutput, res.Stderr)
	}
	const n, arrayBytes = 2000, 3000 * 8
	if len(res.Results) != 1 || res.Results[0] != strconv.Itoa(n*3000) {
		t.Errorf("results = %v, want [%d]", res.Results, n*3000)
	}
	allocLine := lineOf(t, s.Code, "make([]int, 3000)")

	// Assembly: Run, with its call to makeslice on the allocating line.
	var run *AsmFunc
	for i := range res.Assembly {
		if res.Assembly[i].Name == "Run" {
			run = &res.Assembly[i]
		}
	}
	if run == nil {
		t.Fatalf("no assembly for Run: %+v", res.Assembly)
	}
	makeslice := false
	for _, l := range run.Lines {
		if l.Call == "runtime.makeslice" && l.Line == allocLine {
			makeslice = true
		}
	}
	if !makeslice {
		t.Errorf("no CALL runtime.makeslice on line %d in Run's assembly", allocLine)
	}

	// Escapes: the allocating line escapes, with the reason.
	var esc *Decision
	for i, d := range res.Escapes {
		if d.Line == allocLine && d.Kind == "heap" {
			esc = &res.Escapes[i]
		}
	}
	if esc == nil || !strings.Contains(esc.Message, "escapes to heap") || len(esc.Chain) == 0 {
		t.Errorf("escape decision on line %d = %+v, want escapes to heap with a reason chain", allocLine, esc)
	}

	// Allocations: at least the n arrays, most of it on the allocating line.
	if res.Alloc == nil || res.Alloc.Bytes < n*arrayBytes || res.Alloc.Objects < n {
		t.Fatalf("alloc = %+v, want at least %d bytes in %d objects", res.Alloc, n*arrayBytes, n)
	}
	if len(res.Alloc.Sites) == 0 || res.Alloc.Sites[0].Line != allocLine || res.Alloc.Sites[0].Bytes < n*arrayBytes {
		t.Errorf("top allocation site = %+v, want line %d with at least %d bytes", res.Alloc.Sites, allocLine, n*arrayBytes)
	}

	// GC: every cycle the runtime counted, at least one during the call.
	if res.Alloc.GCs == 0 || len(res.Cycles) == 0 {
		t.Errorf("%d cycles during the call, %d recorded; want at least 1", res.Alloc.GCs, len(res.Cycles))
	}
	if !res.CyclesComplete || len(res.Cycles) != int(res.NumGC) {
		t.Errorf("cycles recorded %d, runtime counted %d (complete=%v)", len(res.Cycles), res.NumGC, res.CyclesComplete)
	}
	byTune := 0
	for i, c := range res.Cycles {
		if c.N != i+1 {
			t.Errorf("cycle %d has number %d", i+1, c.N)
		}
		if c.ByTune {
			byTune++
		}
	}
	if byTune != 1 {
		t.Errorf("%d cycles marked as forced by tune, want 1", byTune)
	}

	// Samples: at least 10 Hz during the call (the sampler asks for 100 Hz;
	// a busy machine may delay one tick, so single gaps get some slack).
	inCall := 0
	for i, s := range res.Samples {
		if s.Ms >= res.CallStartMs && s.Ms <= res.CallEndMs {
			inCall++
		}
		if i > 0 {
			if gap := s.Ms - res.Samples[i-1].Ms; gap > 500 {
				t.Errorf("%.1f ms between samples %d and %d", gap, i-1, i)
			}
		}
	}
	if callMs := res.CallEndMs - res.CallStartMs; float64(inCall) < callMs/100 {
		t.Errorf("%d samples during a call of %.0f ms: fewer than 10 per second", inCall, callMs)
	}
	last := res.Samples[len(res.Samples)-1]
	if last.Alloc < n*arrayBytes || last.Cycles == 0 {
		t.Errorf("last sample = %+v", last)
	}
	if res.CallEndMs <= res.CallStartMs {
		t.Errorf("call window %v..%v", res.CallStartMs, res.CallEndMs)
	}

	// Live events arrived while it ran.
	mu.Lock()
	defer mu.Unlock()
	if events["sample"] == 0 || events["cycle"] != len(res.Cycles) || events["status"] < 3 {
		t.Errorf("events = %v, want samples, one per cycle (%d) and the statuses", events, len(res.Cycles))
	}
}

func lineOf(t *testing.T, code, s string) int {
	t.Helper()
	for i, l := range strings.Split(code, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("%q not in the code", s)
	return 0
}

func TestRunLayout(t *testing.T) {
	s, _ := SampleByID("layout")
	res := mustRun(t, newRunner(t, Options{}), Request{Code: s.Code}, nil)
	if res.Error != "" {
		t.Fatalf("%s\n%s", res.Error, res.BuildOutput)
	}
	if len(res.Layouts) != 2 {
		t.Fatalf("layouts = %+v", res.Layouts)
	}
	padded, packed := res.Layouts[0], res.Layouts[1]
	if padded.Name != "Padded" || packed.Name != "Packed" {
		t.Fatalf("layout names %s, %s", padded.Name, packed.Name)
	}
	// The sizes the snippet prints itself (unsafe.Sizeof) agree.
	want := "Padded: " + strconv.Itoa(padded.Size) + " bytes, Packed: " + strconv.Itoa(packed.Size) + " bytes"
	if len(res.Results) != 1 || res.Results[0] != strconv.Quote(want) {
		t.Errorf("results %v, want %q", res.Results, want)
	}
	for _, l := range res.Layouts {
		total := l.TrailingPad
		end := 0
		for _, f := range l.Fields {
			if f.Offset != end+f.PadBefore || f.Offset%f.Align != 0 {
				t.Errorf("%s.%s: offset %d, previous end %d, pad %d, align %d", l.Name, f.Name, f.Offset, end, f.PadBefore, f.Align)
			}
			total += f.PadBefore + f.Size
			end = f.Offset + f.Size
		}
		if total != l.Size || l.Size%l.Align != 0 {
			t.Errorf("%s: fields and padding add up to %d, size %d, align %d", l.Name, total, l.Size, l.Align)
		}
	}
	if padded.Size <= packed.Size {
		t.Errorf("Padded (%d) not larger than Packed (%d)", padded.Size, packed.Size)
	}
}

func TestRunTimeout(t *testing.T) {
	r := newRunner(t, Options{Timeout: time.Second})
	start := time.Now()
	res := mustRun(t, r, Request{Code: "package main\n\nfunc Spin(s string) int {\n\tn := 0\n\tfor {\n\t\tn++\n\t}\n}\n"}, nil)
	if res.Killed != "timeout" || !strings.Contains(res.Error, "time limit") {
		t.Errorf("killed=%q error=%q, want a timeout", res.Killed, res.Error)
	}
	if res.RunMs < 1000 || res.RunMs > 5000 {
		t.Errorf("the child ran %.0f ms with a 1 s limit", res.RunMs)
	}
	t.Logf("build %.0f ms, run %.0f ms, total %v", res.BuildMs, res.RunMs, time.Since(start))
}

func TestRunMemoryLimit(t *testing.T) {
	r := newRunner(t, Options{MemoryLimit: 64 << 20, Timeout: 30 * time.Second})
	code := `package main

var keep [][]byte

func Grow(s string) int {
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		keep = append(keep, b)
	}
}
`
	res := mustRun(t, r, Request{Code: code}, nil)
	if res.Killed != "memory" || !strings.Contains(res.Error, "memory limit") {
		t.Errorf("killed=%q error=%q stderr=%.300q, want stopped by the memory limit", res.Killed, res.Error, res.Stderr)
	}
	if res.RunMs > 20000 {
		t.Errorf("stopping took %.0f ms", res.RunMs)
	}
}

func TestRunCompileError(t *testing.T) {
	code := "package main\n\nfunc Bad(s string) int {\n\tx := 1\n\treturn y\n}\n"
	res := mustRun(t, newRunner(t, Options{}), Request{Code: code}, nil)
	if res.Error == "" || len(res.CompileErrors) != 2 {
		t.Fatalf("error %q, compile errors %+v, want 2", res.Error, res.CompileErrors)
	}
	lines := map[int]string{}
	for _, e := range res.CompileErrors {
		lines[e.Line] = e.Message
	}
	if !strings.Contains(lines[4], "declared and not used") || !strings.Contains(lines[5], "undefined: y") {
		t.Errorf("compile errors = %+v", res.CompileErrors)
	}
	if strings.Contains(res.BuildOutput, r0dir(t)) {
		t.Errorf("build output shows temporary paths: %s", res.BuildOutput)
	}
}

// r0dir is a part of the temporary directory names that must not leak
// into what the page shows.
func r0dir(t *testing.T) string { return "zerogc-tune-" }

func TestRunRejects(t *testing.T) {
	r := newRunner(t, Options{})
	ctx := context.Background()
	if _, err := r.Run(ctx, Request{Code: "package main\nfunc f() {}\n"}, nil); err == nil || !strings.Contains(err.Error(), "takes one string") {
		t.Errorf("no entry: %v", err)
	}
	if _, err := r.Run(ctx, Request{Code: "package main\nfunc F(s string) {}\n", Mode: "fast"}, nil); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := r.Run(ctx, Request{Code: strings.Repeat("x", maxCodeBytes+1)}, nil); err == nil {
		t.Error("oversized snippet accepted")
	}
	res, err := r.Run(ctx, Request{Code: "package main\nfunc F(s string) {\n\tif {\n}\n"}, nil)
	if err != nil || len(res.CompileErrors) == 0 || res.CompileErrors[0].Line != 3 {
		t.Errorf("syntax error: %v %+v", err, res)
	}
	for _, bad := range []Options{{Timeout: -1}, {MemoryLimit: 1 << 10}, {SampleInterval: time.Second}} {
		if _, err := NewRunner(bad); err == nil {
			t.Errorf("NewRunner(%+v) accepted", bad)
		}
	}
}

func TestRunPanicAndOutput(t *testing.T) {
	r := newRunner(t, Options{MaxOutput: 4096})
	code := `package main

import (
	"fmt"
	"os"
	"strings"
)

func Boom(s string) string {
	fmt.Print(strings.Repeat("o", 10000))
	fmt.Fprintln(os.Stderr, "to stderr")
	panic("boom: " + s)
}
`
	res := mustRun(t, r, Request{Code: code, Input: "now"}, nil)
	if !strings.Contains(res.Panic, "boom: now") || res.Error == "" {
		t.Errorf("panic = %.200q, error = %q", res.Panic, res.Error)
	}
	if line := lineOf(t, code, `panic("boom: " + s)`); res.PanicLine != line {
		t.Errorf("panic line = %d, want %d", res.PanicLine, line)
	}
	if !strings.Contains(res.Panic, "Boom(") || !strings.Contains(res.Panic, "snippet.go:") ||
		strings.Contains(res.Panic, r0dir(t)) || strings.Contains(res.Panic, "main.") || strings.Contains(res.Panic, "debug.Stack") {
		t.Errorf("panic stack shows temporary paths or harness frames:\n%s", res.Panic)
	}
	if len(res.Stdout) != 4096 || !res.StdoutTruncated {
		t.Errorf("stdout kept %d bytes (truncated=%v), want 4096", len(res.Stdout), res.StdoutTruncated)
	}
	if !strings.Contains(res.Stderr, "to stderr") || strings.Contains(res.Stderr, "gc 1 @") {
		t.Errorf("stderr = %q: want the snippet's output and no gctrace lines", res.Stderr)
	}
}

func TestRunDebugMode(t *testing.T) {
	if testing.Short() {
		t.Skip("the first Debug build compiles the standard library without optimisations")
	}
	s, _ := SampleByID("escape")
	r := newRunner(t, Options{})
	res := mustRun(t, r, Request{Code: s.Code, Input: "10", Mode: "debug"}, nil)
	if res.Error != "" {
		t.Fatalf("%s\n%s", res.Error, res.BuildOutput)
	}
	rel := mustRun(t, r, Request{Code: s.Code, Input: "10", Mode: "release"}, nil)
	inl := func(res *Result) (can, did int) {
		for _, d := range res.Escapes {
			switch d.Kind {
			case "inline":
				can++
			case "inlined":
				did++
			}
		}
		return
	}
	dcan, ddid := inl(res)
	rcan, rdid := inl(rel)
	if dcan+ddid != 0 || rcan == 0 || rdid == 0 {
		t.Errorf("inlining: debug %d/%d, release %d/%d; want none in debug (-l) and some in release", dcan, ddid, rcan, rdid)
	}
	if res.Results[0] != rel.Results[0] || res.Results[0] != strconv.Quote("(9, 18)") {
		t.Errorf("debug %v, release %v", res.Results, rel.Results)
	}
}

// TestRunOneAtATime starts runs from several goroutines: exactly one runs
// at a time, the others get ErrBusy, and none of them fails otherwise.
func TestRunOneAtATime(t *testing.T) {
	r := newRunner(t, Options{})
	code := "package main\n\nimport \"time\"\n\nfunc Wait(s string) int {\n\ttime.Sleep(300 * time.Millisecond)\n\treturn 1\n}\n"
	var ok, busy atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				res, err := r.Run(context.Background(), Request{Code: code}, nil)
				switch {
				case errors.Is(err, ErrBusy):
					busy.Add(1)
				case err != nil:
					t.Errorf("Run: %v", err)
				case res.Error != "":
					t.Errorf("run failed: %s", res.Error)
				default:
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() == 0 || busy.Load() == 0 || ok.Load()+busy.Load() != 18 {
		t.Errorf("%d runs completed and %d refused as busy, of 18", ok.Load(), busy.Load())
	}
}

func TestRunCanceled(t *testing.T) {
	r := newRunner(t, Options{Timeout: 30 * time.Second})
	code := "package main\n\nimport \"time\"\n\nfunc Wait(s string) int {\n\ttime.Sleep(time.Minute)\n\treturn 1\n}\n"
	// Warm the build, then cancel a run while the child sleeps.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(3 * time.Second)
		cancel()
	}()
	start := time.Now()
	res, err := r.Run(ctx, Request{Code: code}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("canceled run took %v", d)
	}
	if res.Killed != "canceled" && !strings.Contains(res.Error, "canceled") {
		t.Errorf("killed=%q error=%q, want canceled", res.Killed, res.Error)
	}
}

// TestRunSamplerDoesNotAllocate runs a function that allocates nothing for
// 150 ms while the harness samples: the call's totals stay at zero, so the
// sampling does not show up in them.
func TestRunSamplerDoesNotAllocate(t *testing.T) {
	code := `package main

import "time"

func Spin(s string) int {
	start := time.Now()
	n := 0
	for time.Since(start) < 150*time.Millisecond {
		n++
	}
	return len(s)
}
`
	res := mustRun(t, newRunner(t, Options{}), Request{Code: code, Input: "abc"}, nil)
	if res.Error != "" || res.Alloc == nil {
		t.Fatalf("%s %s", res.Error, res.BuildOutput)
	}
	inCall := 0
	for _, s := range res.Samples {
		if s.Ms >= res.CallStartMs && s.Ms <= res.CallEndMs {
			inCall++
		}
	}
	if inCall < 3 {
		t.Fatalf("only %d samples during the call", inCall)
	}
	// The only allocations allowed are the runtime's own for a thread it
	// started during the call (on a loaded machine), and they are reported.
	if res.Alloc.NewThreads == 0 && (res.Alloc.Bytes != 0 || res.Alloc.Objects != 0) {
		t.Errorf("a call that allocates nothing, sampled %d times, reports %d bytes in %d objects", inCall, res.Alloc.Bytes, res.Alloc.Objects)
	}
	if res.Alloc.NewThreads > 0 && res.Alloc.Objects >= uint64(inCall) {
		t.Errorf("%d objects for %d samples and %d new threads: the sampler allocates", res.Alloc.Objects, inCall, res.Alloc.NewThreads)
	}
}

// TestRunModernGo: the temporary module uses the toolchain's language
// version, so range over int and iterators compile.
func TestRunModernGo(t *testing.T) {
	code := `package main

import "iter"

func count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

func Sum(s string) int {
	total := 0
	for v := range count(len(s)) {
		total += v
	}
	return total
}
`
	res := mustRun(t, newRunner(t, Options{}), Request{Code: code, Input: "abcd"}, nil)
	if res.Error != "" || len(res.Results) != 1 || res.Results[0] != "6" {
		t.Errorf("error %q, results %v, want [6]\n%s", res.Error, res.Results, res.BuildOutput)
	}
}
