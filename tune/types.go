package tune

// Request is what POST /api/run takes: a snippet, the text passed to its
// entry function, and the build mode.
type Request struct {
	Code  string `json:"code"`
	Input string `json:"input"`
	// Mode is "release" (the default: optimised, inlined) or "debug"
	// (-gcflags=all=-N -l: no optimisation, no inlining).
	Mode string `json:"mode"`

	// Bench runs the snippet's benchmarks (func BenchmarkX(b *testing.B))
	// with go test -bench -benchmem instead of calling its entry
	// function; Input is then unused. Count is the number of samples per
	// benchmark (default 6, at most 50) and Benchtime the -benchtime of
	// each (a duration such as "200ms" or an iteration count such as
	// "1000x"; by default what fits in 60% of the run's time limit, and a
	// duration that does not fit is refused).
	Bench     bool   `json:"bench,omitempty"`
	Count     int    `json:"count,omitempty"`
	Benchtime string `json:"benchtime,omitempty"`
	// Baseline, with Bench, is the "bench" object of an earlier result:
	// the answer then compares this run with it (Result.Comparison).
	Baseline *BenchRun `json:"baseline,omitempty"`

	// Knobs are the run's GOGC, GOMEMLIMIT, GOMAXPROCS, GODEBUG and extra
	// compiler flags (knobs.go), checked before the build.
	Knobs *Knobs `json:"knobs,omitempty"`
	// Go is the Go release to build and run with, such as "go1.27.3":
	// fetched through the module proxy at its first use (see
	// goversion.go). Empty means the installed toolchain.
	Go string `json:"go,omitempty"`
}

// Result is everything one run produced. It is the body of the answer to
// POST /api/run.
type Result struct {
	Mode  string `json:"mode"`
	Entry string `json:"entry,omitempty"` // the function that was called
	// GoVersion is the toolchain that built and ran the snippet, such as
	// "go1.26.8".
	GoVersion string `json:"goVersion,omitempty"`

	// Error says why the run did not complete: the snippet did not compile,
	// was killed at the timeout or the memory limit, or exited by itself.
	Error         string         `json:"error,omitempty"`
	Killed        string         `json:"killed,omitempty"` // "timeout", "memory" or "stopped"
	ExitCode      int            `json:"exitCode"`         // -1 when killed by a signal
	Signal        string         `json:"signal,omitempty"` // the signal that ended the child, such as "killed"
	CompileErrors []CompileError `json:"compileErrors,omitempty"`
	BuildOutput   string         `json:"buildOutput,omitempty"` // the go command's output when the build failed

	Stdout          string   `json:"stdout"`
	Stderr          string   `json:"stderr"`
	StdoutTruncated bool     `json:"stdoutTruncated,omitempty"`
	StderrTruncated bool     `json:"stderrTruncated,omitempty"`
	Results         []string `json:"results,omitempty"`   // the entry function's return values, formatted with %v
	Panic           string   `json:"panic,omitempty"`     // the entry function's panic and stack, with the snippet's frames as snippet.go:LINE and the harness's frames left out
	PanicLine       int      `json:"panicLine,omitempty"` // the snippet line that panicked (its innermost frame)

	Assembly []AsmFunc  `json:"assembly,omitempty"`
	Escapes  []Decision `json:"escapes,omitempty"`
	// BoundsChecks are the index and slice bounds checks the compiler
	// kept (-d=ssa/check_bce/debug=1), and Inlining its verdict on
	// inlining each function of the snippet, with the cost.
	BoundsChecks []BoundsCheck `json:"boundsChecks,omitempty"`
	Inlining     []Inlining    `json:"inlining,omitempty"`
	Layouts      []Layout      `json:"layouts,omitempty"`
	Alloc        *Alloc        `json:"alloc,omitempty"`

	// Bench is what a benchmark run measured, and Comparison, when the
	// request carried a baseline, benchstat's comparison with it.
	Bench *BenchRun `json:"bench,omitempty"`
	// Noalloc is the noalloc verdict on each function of the snippet
	// (the check of zerogc check, on every function): which provably do
	// not allocate, and how the others can.
	Noalloc    *NoallocVerdict `json:"noalloc,omitempty"`
	Comparison []BenchDelta    `json:"comparison,omitempty"`

	// Knobs are the request's knobs as applied (normalised), and Runtime
	// the settings the child's runtime reports it ran with.
	Knobs   *Knobs           `json:"knobs,omitempty"`
	Runtime *RuntimeSettings `json:"runtime,omitempty"`

	// Samples are the runtime/metrics samples taken inside the child, and
	// Cycles every garbage collection it ran, in order.
	Samples []Sample `json:"samples,omitempty"`
	Cycles  []Cycle  `json:"cycles,omitempty"`
	// CyclesComplete is true when the child's own count of collections
	// (runtime.MemStats.NumGC, forced ones included) matches Cycles.
	CyclesComplete bool    `json:"cyclesComplete"`
	NumGC          uint32  `json:"numGC"`
	NumForcedGC    uint32  `json:"numForcedGC"`
	CallStartMs    float64 `json:"callStartMs"` // when the entry function was called, ms since the child started
	CallEndMs      float64 `json:"callEndMs"`

	// PeakMemory is the most resident memory tune saw the run's processes
	// use together (sampled every 10 ms, from /proc; measured by tune, not
	// reported by the child).
	PeakMemory uint64  `json:"peakMemory"`
	BuildMs    float64 `json:"buildMs"`
	RunMs      float64 `json:"runMs"`
}

// CompileError is one compiler error about a line of the snippet.
type CompileError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// AsmFunc is the assembly of one function of the snippet.
type AsmFunc struct {
	Name   string    `json:"name"`
	Line   int       `json:"line"` // where the function is declared
	Size   int       `json:"size"` // bytes of machine code
	Args   string    `json:"args"`
	Locals string    `json:"locals"`
	Lines  []AsmLine `json:"lines"`
}

// AsmLine is one row of an AsmFunc: a source line ("source") or an
// instruction ("inst").
type AsmLine struct {
	Kind   string `json:"kind"`
	File   string `json:"file,omitempty"` // "snippet.go" or a standard library file for inlined code
	Line   int    `json:"line"`
	Text   string `json:"text,omitempty"` // the source text of a "source" row
	PC     int    `json:"pc"`
	Op     string `json:"op,omitempty"`
	Args   string `json:"args,omitempty"`
	Label  string `json:"label,omitempty"`  // the label of a jump target
	Target string `json:"target,omitempty"` // the label a jump goes to
	Call   string `json:"call,omitempty"`   // the function a CALL calls
}

// Decision is one escape-analysis or inlining decision of the compiler.
type Decision struct {
	Line int `json:"line"`
	Col  int `json:"col"`
	// Kind is heap, moved, leak, stack, inline, noinline, inlined,
	// devirtualized or other.
	Kind    string   `json:"kind"`
	Message string   `json:"message"`
	Func    string   `json:"func,omitempty"`
	Chain   []string `json:"chain,omitempty"` // why: the flow the compiler followed
}

// BoundsCheck is a bounds check the compiler could not prove redundant.
type BoundsCheck struct {
	Line int `json:"line"`
	Col  int `json:"col"`
	// Kind is "index" (IsInBounds: a[i]) or "slice" (IsSliceInBounds:
	// a[i:j]).
	Kind string `json:"kind"`
}

// Inlining is the compiler's inlining verdict on one function of the
// snippet.
type Inlining struct {
	Func      string `json:"func"`
	Line      int    `json:"line"`
	CanInline bool   `json:"canInline"`
	// Cost is the function's inlining cost, and Budget the most a function
	// may cost to be inlined; each -1 when the compiler did not say (it
	// prints the budget only for a function over it, and no cost for a
	// go:noinline one).
	Cost   int `json:"cost"`
	Budget int `json:"budget"`
	// Reason says why a function cannot be inlined, such as "function too
	// complex: cost 120 exceeds budget 80" or "marked go:noinline".
	Reason string `json:"reason,omitempty"`
}

// Layout is the memory layout of one struct type of the snippet.
type Layout struct {
	Name        string  `json:"name"`
	Size        int     `json:"size"`
	Align       int     `json:"align"`
	TrailingPad int     `json:"trailingPad"`
	Fields      []Field `json:"fields"`
}

// Field is one field of a Layout. PadBefore is the padding between the
// previous field (or the start) and this one.
type Field struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Offset    int    `json:"offset"`
	Size      int    `json:"size"`
	Align     int    `json:"align"`
	PadBefore int    `json:"padBefore"`
}

// Alloc is what the entry function allocated on the heap.
type Alloc struct {
	Bytes   uint64 `json:"bytes"`
	Objects uint64 `json:"objects"`
	GCs     uint32 `json:"gcs"` // collections during the call
	// NewThreads is how many threads the runtime started during the call.
	// Their bookkeeping (about 5 KB each) is allocated on the heap and
	// counted in Bytes and Objects; the harness starts threads before the
	// call so that this is rare.
	NewThreads int     `json:"newThreads"`
	DurationMs float64 `json:"durationMs"`
	Sites      []Site  `json:"sites"`
	// Lines is what each line of the snippet allocated, all sites
	// counted (Sites keeps the heaviest 30).
	Lines []LineAlloc `json:"lines,omitempty"`
}

// Site is an allocation site: a line of the snippet, and the function it
// called that allocated (Via), if the allocation happened in a callee.
type Site struct {
	Func    string `json:"func"`
	Line    int    `json:"line"`
	Via     string `json:"via,omitempty"`
	Bytes   int64  `json:"bytes"`
	Objects int64  `json:"objects"`
}

// Sample is one runtime/metrics sample of the child.
type Sample struct {
	Ms      float64 `json:"ms"`      // since the child started
	InUse   uint64  `json:"inUse"`   // /memory/classes/heap/objects:bytes (live and not yet swept)
	Live    uint64  `json:"live"`    // /gc/heap/live:bytes (marked live by the last cycle)
	Goal    uint64  `json:"goal"`    // /gc/heap/goal:bytes
	Alloc   uint64  `json:"alloc"`   // /gc/heap/allocs:bytes (total allocated)
	Objects uint64  `json:"objects"` // /gc/heap/objects:objects
	Cycles  uint64  `json:"cycles"`  // /gc/cycles/total:gc-cycles
	Forced  uint64  `json:"forced"`  // /gc/cycles/forced:gc-cycles
}

// Cycle is one garbage collection of the child, from its GODEBUG=gctrace=1
// line.
type Cycle struct {
	N            int     `json:"n"`
	AtMs         float64 `json:"atMs"` // start, ms since the child started
	Forced       bool    `json:"forced"`
	PauseMs      float64 `json:"pauseMs"` // both stop-the-world phases
	ConcurrentMs float64 `json:"concurrentMs"`
	HeapStartMB  int     `json:"heapStartMB"`
	HeapEndMB    int     `json:"heapEndMB"`
	LiveMB       int     `json:"liveMB"`
	GoalMB       int     `json:"goalMB"`
	// ByTune marks the collection tune forces after the call to complete
	// the allocation profile.
	ByTune bool `json:"byTune,omitempty"`
}

// Event is one message of the live stream (GET /api/events).
type Event struct {
	Type   string  `json:"type"` // "status" (building, checking, running, done), "sample", "cycle" or "call" (the call returned)
	Status string  `json:"status,omitempty"`
	Sample *Sample `json:"sample,omitempty"`
	Cycle  *Cycle  `json:"cycle,omitempty"`
	CallMs float64 `json:"callMs,omitempty"`
}
