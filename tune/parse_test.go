package tune

import (
	"strings"
	"testing"
)

// compilerOutput is the shape of what "go build -gcflags=-S -m=2" prints
// for a snippet (paths already normalized), cut down to two functions.
const compilerOutput = `# tuneexp/snippet
snippet.go:31:6: can inline keep with cost 4 as: func(*Point) { kept = p }
snippet.go:13:6: cannot inline Run: function too complex: cost 118 exceeds budget 80
snippet.go:25:6: inlining call to keep
snippet.go:16:14: make([]int, 3000) escapes to heap in Run:
snippet.go:16:14:   flow: arr ← &{storage for make([]int, 3000)}:
snippet.go:16:14:     from make([]int, 3000) (spill) at snippet.go:16:14
snippet.go:16:14:   flow: {heap} ← arr:
snippet.go:16:14:     from sink = arr (assign) at snippet.go:18:8
snippet.go:13:10: input does not escape
snippet.go:16:14: make([]int, 3000) escapes to heap
snippet.go:24:2: moved to heap: x
tuneexp/snippet.Run STEXT size=298 args=0x10 locals=0x30 funcid=0x0 align=0x0
	0x0000 00000 (snippet.go:13)	TEXT	tuneexp/snippet.Run(SB), ABIInternal, $48-16
	0x0000 00000 (snippet.go:13)	CMPQ	SP, 16(R14)
	0x0004 00004 (snippet.go:13)	PCDATA	$0, $-2
	0x0004 00004 (snippet.go:13)	JLS	286
	0x0016 00022 (snippet.go:15)	JMP	40
	0x0018 00024 (snippet.go:15)	LEAQ	1(DX), AX
	0x0028 00040 (snippet.go:15)	MOVQ	CX, tuneexp/snippet.total+24(SP)
	0x003c 00060 (snippet.go:16)	LEAQ	type:int(SB), AX
	0x004b 00075 (snippet.go:16)	CALL	runtime.makeslice(SB)
	0x00c0 00192 (time/sleep.go:21)	CALL	time.Sleep(SB)
	0x00ca 00202 (snippet.go:21)	JMP	24
	0x011e 00286 (snippet.go:13)	CALL	runtime.morestack_noctxt(SB)
	0x0125 00293 (snippet.go:13)	JMP	0
	0x0000 49 3b 66 10 0f 86 14 01 00 00 55 48 89 e5 48 83  I;f.......UH..H.
	rel 76+4 t=R_CALL runtime.makeslice+0
tuneexp/snippet.XTuneTypes STEXT size=10 args=0x0 locals=0x0 funcid=0x0 align=0x0
	0x0000 00000 (zz_tune_layout.go:7)	TEXT	tuneexp/snippet.XTuneTypes(SB), ABIInternal, $0-0
	0x0000 00000 (zz_tune_layout.go:8)	RET
tuneexp/snippet.keep STEXT size=79 args=0x8 locals=0x8 funcid=0x0 align=0x0
	0x0000 00000 (snippet.go:31)	TEXT	tuneexp/snippet.keep(SB), ABIInternal, $8-8
	0x0000 00000 (snippet.go:31)	RET
`

func TestParseEscapes(t *testing.T) {
	ds := parseEscapes(compilerOutput)
	var heap []Decision
	kinds := map[string]int{}
	for _, d := range ds {
		kinds[d.Kind]++
		if d.Kind == "heap" {
			heap = append(heap, d)
		}
	}
	if len(heap) != 1 {
		t.Fatalf("got %d heap decisions, want the two lines about make merged into 1: %+v", len(heap), heap)
	}
	h := heap[0]
	if h.Line != 16 || h.Col != 14 || h.Func != "Run" || h.Message != "make([]int, 3000) escapes to heap" {
		t.Errorf("heap decision = %+v", h)
	}
	if len(h.Chain) != 4 || !strings.HasPrefix(h.Chain[0], "flow: arr ←") || !strings.HasPrefix(h.Chain[1], "  from make") {
		t.Errorf("chain = %q", h.Chain)
	}
	want := map[string]int{"heap": 1, "inline": 1, "noinline": 1, "inlined": 1, "stack": 1, "moved": 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d decisions of kind %s, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	for i := 1; i < len(ds); i++ {
		if ds[i].Line < ds[i-1].Line {
			t.Errorf("decisions not in line order: %d after %d", ds[i].Line, ds[i-1].Line)
		}
	}
}

func TestParseAssembly(t *testing.T) {
	src := strings.Repeat("\n", 12) + "func Run(input string) int {\n\ttotal := 0\n\tfor i := 0; i < n; i++ {\n\t\tarr := make([]int, 3000)\n"
	fns := parseAssembly(compilerOutput, src)
	if len(fns) != 2 || fns[0].Name != "Run" || fns[1].Name != "keep" {
		t.Fatalf("functions = %+v, want Run and keep (XTuneTypes is tune's own)", fns)
	}
	run := fns[0]
	if run.Line != 13 || run.Size != 298 || run.Args != "0x10" || run.Locals != "0x30" {
		t.Errorf("Run header = line %d size %d args %s locals %s", run.Line, run.Size, run.Args, run.Locals)
	}
	labels := map[int]string{}
	var jumps, calls []AsmLine
	var sources []AsmLine
	for _, l := range run.Lines {
		switch {
		case l.Kind == "source":
			sources = append(sources, l)
		case l.Op == "PCDATA" || l.Op == "TEXT":
			t.Errorf("pseudo-instruction %s kept", l.Op)
		}
		if l.Label != "" {
			labels[l.PC] = l.Label
		}
		if l.Target != "" {
			jumps = append(jumps, l)
		}
		if l.Call != "" {
			calls = append(calls, l)
		}
	}
	// Targets 0, 24, 40 and 286, labelled in address order.
	wantLabels := map[int]string{0: "L1", 24: "L2", 40: "L3", 286: "L4"}
	for pc, l := range wantLabels {
		if labels[pc] != l {
			t.Errorf("label at pc %d = %q, want %q (all %v)", pc, labels[pc], l, labels)
		}
	}
	if len(jumps) != 4 || jumps[0].Target != "L4" || jumps[0].Args != "L4" {
		t.Errorf("jumps = %+v", jumps)
	}
	if len(calls) != 3 || calls[0].Call != "runtime.makeslice" || calls[1].Call != "time.Sleep" {
		t.Errorf("calls = %+v", calls)
	}
	if sources[0].Line != 13 || sources[0].Text != "func Run(input string) int {" {
		t.Errorf("first source row = %+v", sources[0])
	}
	foundStd := false
	for _, s := range sources {
		if s.File == "time/sleep.go" && s.Line == 21 {
			foundStd = true
		}
	}
	if !foundStd {
		t.Errorf("no source row for the inlined standard library line: %+v", sources)
	}
	for _, l := range run.Lines {
		if strings.Contains(l.Args, "tuneexp/") {
			t.Errorf("temporary package path left in %q", l.Args)
		}
	}
}

func TestParseCompileErrors(t *testing.T) {
	out := "# tuneexp/snippet\nsnippet.go:5:2: declared and not used: x\nsnippet.go:7:9: undefined: y\nmain.go:3:1: something else\n"
	errs := parseCompileErrors(out)
	if len(errs) != 2 {
		t.Fatalf("errors = %+v, want the 2 about snippet.go", errs)
	}
	if errs[0].Line != 5 || errs[0].Col != 2 || errs[0].Message != "declared and not used: x" || errs[1].Line != 7 {
		t.Errorf("errors = %+v", errs)
	}
}

func TestParseGCTrace(t *testing.T) {
	c, ok := parseGCTrace("gc 12 @1.250s 4%: 0.23+3.8+0.006 ms clock, 0.47+0.39/0.31/0.17+0.013 ms cpu, 3->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P")
	if !ok {
		t.Fatal("gctrace line not recognised")
	}
	if c.N != 12 || c.AtMs != 1250 || c.Forced || c.HeapStartMB != 3 || c.HeapEndMB != 4 || c.LiveMB != 1 || c.GoalMB != 5 {
		t.Errorf("cycle = %+v", c)
	}
	if c.PauseMs < 0.2359 || c.PauseMs > 0.2361 || c.ConcurrentMs != 3.8 {
		t.Errorf("pause %v concurrent %v, want 0.236 and 3.8", c.PauseMs, c.ConcurrentMs)
	}
	c, ok = parseGCTrace("gc 1 @0.000s 10%: 0.078+0.15+0.006 ms clock, 0.15+0/0.061/0.034+0.012 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)")
	if !ok || !c.Forced || c.N != 1 {
		t.Errorf("forced cycle = %+v, %v", c, ok)
	}
	for _, line := range []string{"", "gc", "hello gc 1 @0.000s", "gc x @0.1s 1%: 1+1+1 ms clock"} {
		if _, ok := parseGCTrace(line); ok {
			t.Errorf("%q taken for a gctrace line", line)
		}
	}
}

func TestCyclesComplete(t *testing.T) {
	cs := []Cycle{{N: 1}, {N: 2, Forced: true}, {N: 3}}
	if !cyclesComplete(cs, 3, 1) {
		t.Error("complete list reported incomplete")
	}
	if cyclesComplete(cs[:2], 3, 1) {
		t.Error("missing cycle 3 not noticed")
	}
	if cyclesComplete(cs, 3, 0) {
		t.Error("wrong forced count not noticed")
	}
	if cyclesComplete(append(cs, Cycle{N: 2, Forced: true}), 3, 1) {
		t.Error("duplicate cycle not noticed")
	}
}

func TestPrepare(t *testing.T) {
	code := "package main\n\ntype pair struct{ a byte; b int64 }\ntype G[T any] struct{ v T }\n\nfunc helper(s string) {}\nfunc (p pair) M(s string) {}\nfunc Work(s string) (int, error) { return len(s), nil }\nfunc Later(s string) {}\n"
	p, syn, err := prepare(code, "in\"put", 0, "1.26", false)
	if err != nil || syn != nil {
		t.Fatalf("prepare: %v %v", err, syn)
	}
	if p.Entry.Name != "Work" || p.Entry.Results != 2 || p.Entry.Line != 8 {
		t.Errorf("entry = %+v, want Work with 2 results on line 8", p.Entry)
	}
	if len(p.Structs) != 1 || p.Structs[0] != "pair" {
		t.Errorf("structs = %v, want [pair] (generic types are left out)", p.Structs)
	}
	src := p.Files["snippet/snippet.go"]
	if !strings.HasPrefix(src, "package snippet\n") || strings.Count(src, "\n") != strings.Count(code, "\n") {
		t.Errorf("snippet not rewritten in place:\n%s", src)
	}
	if !strings.Contains(p.Files["main.go"], `r0, r1 := snippet.Work(input)`) || !strings.Contains(p.Files["main.go"], `tuneRun("in\"put")`) {
		t.Errorf("harness does not call the entry with the input:\n%s", p.Files["main.go"])
	}

	if _, _, err := prepare("package main\nfunc run(s string) {}\nfunc Two(a, b string) {}\n", "", 0, "1.26", false); err == nil || !strings.Contains(err.Error(), "exported function that takes one string") {
		t.Errorf("snippet without an entry: err = %v", err)
	}
	_, syn, err = prepare("package main\nfunc Run(s string) {\n\tx := \n}\n", "", 0, "1.26", false)
	if err != nil || len(syn) == 0 || syn[0].Line != 4 {
		t.Errorf("syntax error: %v %+v, want an error on line 4", err, syn)
	}
}

// FuzzParsers feeds arbitrary compiler output to the parsers: they must
// not panic, and what they return must point at lines that exist.
func FuzzParsers(f *testing.F) {
	f.Add(compilerOutput, "package main\nfunc Run(s string) {}\n")
	f.Add("snippet.go:1:1:   flow: x\nsnippet.go:0:0: x escapes to heap in F:\n\t0x0 0 (snippet.go:99)\tJMP\t-1\n", "")
	f.Add("tuneexp/snippet.F STEXT size=1 args=0x0 locals=0x0\n\t0x0000 00000 (snippet.go:1)\tTEXT\tx\n\t0x0000 00000 (snippet.go:1)\tJMP\t0\n", "x")
	f.Add("gc 1 @0.000s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, 0->0->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)", "")
	f.Fuzz(func(t *testing.T, out, src string) {
		parseEscapes(out)
		parseCompileErrors(out)
		for _, l := range strings.Split(out, "\n") {
			parseGCTrace(l)
		}
		for _, fn := range parseAssembly(out, src) {
			for _, l := range fn.Lines {
				if l.Kind == "source" && l.Text != "" && (l.Line < 1 || l.Line > strings.Count(src, "\n")+1) {
					t.Fatalf("source text for line %d of a %d-line snippet", l.Line, strings.Count(src, "\n")+1)
				}
			}
		}
	})
}
