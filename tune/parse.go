package tune

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// diagLine matches a compiler diagnostic about the snippet file:
// "tuneexp/snippet/snippet.go:16:14: message". The directory part varies
// with -trimpath and the working directory, so only the file name counts.
var diagLine = regexp.MustCompile(`^(?:\S*/)?` + regexp.QuoteMeta(snippetFile) + `:(\d+):(\d+): (.*)$`)

// parseCompileErrors returns the diagnostics of a failed build that point
// into the snippet, in the order the compiler printed them.
func parseCompileErrors(out string) []CompileError {
	var errs []CompileError
	for _, l := range strings.Split(out, "\n") {
		m := diagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		errs = append(errs, CompileError{File: snippetFile, Line: line, Col: col, Message: strings.TrimSpace(m[3])})
	}
	return errs
}

// escapeKind classifies one -m message.
func escapeKind(msg string) string {
	switch {
	case strings.Contains(msg, "escapes to heap"):
		return "heap"
	case strings.HasPrefix(msg, "moved to heap"):
		return "moved"
	case strings.HasPrefix(msg, "leaking param"), strings.Contains(msg, " leaks to "):
		return "leak"
	case strings.Contains(msg, "does not escape"):
		return "stack"
	case strings.HasPrefix(msg, "can inline"):
		return "inline"
	case strings.HasPrefix(msg, "cannot inline"):
		return "noinline"
	case strings.HasPrefix(msg, "inlining call to"):
		return "inlined"
	case strings.HasPrefix(msg, "devirtualizing"):
		return "devirtualized"
	}
	return "other"
}

// inFunc matches the " in Run:" that -m=2 adds to the head of an explanation.
var inFunc = regexp.MustCompile(` in ([\w.()*\[\]]+):$`)

// parseEscapes reads the -m=2 output of the compiler: one decision per
// message about the snippet, with the explanation lines that -m=2 prints
// under a decision (the "flow:" and "from ... at" chain) attached to it.
// A decision that -m=2 prints twice (once with its explanation, once as a
// summary) is reported once.
func parseEscapes(out string) []Decision {
	var ds []Decision
	type key struct {
		line, col int
		kind      string
	}
	seen := map[key]int{}
	cur := -1 // index of the decision that continuation lines belong to
	for _, l := range strings.Split(out, "\n") {
		m := diagLine.FindStringSubmatch(l)
		if m == nil {
			cur = -1
			continue
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		msg := m[3]
		if strings.HasPrefix(msg, "Found Is") { // a bounds check: parseBoundsChecks
			cur = -1
			continue
		}
		msg = shortPaths(msg)
		if strings.HasPrefix(msg, "  ") {
			if cur >= 0 {
				ds[cur].Chain = append(ds[cur].Chain, strings.TrimRight(msg[2:], " "))
			}
			continue
		}
		fn := ""
		head := false
		if sm := inFunc.FindStringSubmatch(msg); sm != nil {
			fn = sm[1]
			msg = msg[:len(msg)-len(sm[0])]
			head = true
		} else if strings.HasSuffix(msg, ":") && escapeKind(msg) != "moved" {
			msg = strings.TrimSuffix(msg, ":")
			head = true
		}
		k := key{line, col, escapeKind(msg)}
		if i, ok := seen[k]; ok {
			if head {
				cur = i
			} else {
				cur = -1
			}
			if ds[i].Func == "" {
				ds[i].Func = fn
			}
			continue
		}
		ds = append(ds, Decision{Line: line, Col: col, Kind: k.kind, Message: msg, Func: fn})
		seen[k] = len(ds) - 1
		if head {
			cur = len(ds) - 1
		} else {
			cur = -1
		}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].Line != ds[j].Line {
			return ds[i].Line < ds[j].Line
		}
		return ds[i].Col < ds[j].Col
	})
	return ds
}

// parseBoundsChecks reads the lines -d=ssa/check_bce/debug=1 prints for the
// snippet: "snippet.go:12:9: Found IsInBounds", one per check kept.
func parseBoundsChecks(out string) []BoundsCheck {
	var bs []BoundsCheck
	seen := map[BoundsCheck]bool{}
	for _, l := range strings.Split(out, "\n") {
		m := diagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var kind string
		switch strings.TrimSpace(m[3]) {
		case "Found IsInBounds":
			kind = "index"
		case "Found IsSliceInBounds":
			kind = "slice"
		default:
			continue
		}
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		b := BoundsCheck{Line: line, Col: col, Kind: kind}
		if !seen[b] {
			seen[b] = true
			bs = append(bs, b)
		}
	}
	sort.SliceStable(bs, func(i, j int) bool {
		if bs[i].Line != bs[j].Line {
			return bs[i].Line < bs[j].Line
		}
		return bs[i].Col < bs[j].Col
	})
	return bs
}

var (
	canInline    = regexp.MustCompile(`^can inline (\S+) with cost (\d+)`)
	cannotInline = regexp.MustCompile(`^cannot inline (\S+): (.*)$`)
	inlineCost   = regexp.MustCompile(`cost (\d+) exceeds budget (\d+)`)
)

// inlining returns the inlining verdict on each function from the
// escape-analysis decisions. The compiler prints its budget only for a
// function over it.
func inlining(ds []Decision) []Inlining {
	var out []Inlining
	for _, d := range ds {
		if m := canInline.FindStringSubmatch(d.Message); m != nil {
			cost, _ := strconv.Atoi(m[2])
			out = append(out, Inlining{Func: m[1], Line: d.Line, CanInline: true, Cost: cost, Budget: -1})
		} else if m := cannotInline.FindStringSubmatch(d.Message); m != nil {
			in := Inlining{Func: m[1], Line: d.Line, Cost: -1, Budget: -1, Reason: m[2]}
			if c := inlineCost.FindStringSubmatch(m[2]); c != nil {
				in.Cost, _ = strconv.Atoi(c[1])
				in.Budget, _ = strconv.Atoi(c[2])
			}
			out = append(out, in)
		}
	}
	return out
}

var (
	// asmFunc matches the header the compiler's -S prints for a function:
	// "tuneexp/snippet.Run STEXT size=298 args=0x10 locals=0x30 funcid=0x0 align=0x0".
	// Go 1.27 prints align= between size= and args=.
	asmFunc = regexp.MustCompile(`^(\S+) STEXT (?:\S+ )*?size=(\d+) (?:\S+ )*?args=(0x[0-9a-f]+) locals=(0x[0-9a-f]+)`)
	// asmInst matches one instruction: "\t0x0004 00004 (file.go:13)\tJLS\t286".
	asmInst = regexp.MustCompile(`^\t0x[0-9a-f]+ (\d+) \(([^)]*)\)\t(\S+)(?:\t(.*))?$`)
	// asmCall matches a direct call target: "runtime.makeslice(SB)".
	asmCall = regexp.MustCompile(`^(\S+)\(SB\)$`)
)

// parseAssembly reads the compiler's -S output and returns the functions of
// the snippet, each with its instructions, the source line before each run
// of instructions from one line, jump targets labelled (L1, L2, ... in
// address order) and call targets named. src is the snippet's text.
func parseAssembly(out, src string) []AsmFunc {
	srcLines := strings.Split(src, "\n")
	var funcs []AsmFunc
	var cur *AsmFunc
	type inst struct {
		pc         int
		file       string
		line       int
		op, args   string
		jumpTarget int // -1 when not a jump with a constant target
	}
	var insts []inst
	flush := func() {
		if cur == nil {
			return
		}
		targets := map[int]string{}
		var pcs []int
		for _, in := range insts {
			if in.jumpTarget >= 0 {
				if _, ok := targets[in.jumpTarget]; !ok {
					targets[in.jumpTarget] = ""
					pcs = append(pcs, in.jumpTarget)
				}
			}
		}
		sort.Ints(pcs)
		for i, pc := range pcs {
			targets[pc] = "L" + strconv.Itoa(i+1)
		}
		lastLine, lastFile := -1, ""
		labelled := map[int]bool{}
		for _, in := range insts {
			if in.line != lastLine || in.file != lastFile {
				lastLine, lastFile = in.line, in.file
				row := AsmLine{Kind: "source", Line: in.line, File: in.file}
				if in.file == snippetFile && in.line >= 1 && in.line <= len(srcLines) {
					row.Text = strings.TrimRight(srcLines[in.line-1], " \t\r")
				}
				cur.Lines = append(cur.Lines, row)
			}
			row := AsmLine{Kind: "inst", Line: in.line, File: in.file, PC: in.pc, Op: in.op, Args: in.args}
			if l, ok := targets[in.pc]; ok && !labelled[in.pc] {
				row.Label = l
				labelled[in.pc] = true
			}
			if in.jumpTarget >= 0 {
				row.Target = targets[in.jumpTarget]
				row.Args = row.Target
			}
			if in.op == "CALL" {
				if m := asmCall.FindStringSubmatch(in.args); m != nil {
					row.Call = m[1]
				}
			}
			cur.Lines = append(cur.Lines, row)
		}
		funcs = append(funcs, *cur)
		cur = nil
		insts = insts[:0]
	}
	for _, l := range strings.Split(out, "\n") {
		if m := asmFunc.FindStringSubmatch(l); m != nil {
			flush()
			if !strings.HasPrefix(m[1], snippetPkg+".") || strings.HasPrefix(m[1], snippetPkg+".XTuneTypes") {
				continue
			}
			size, _ := strconv.Atoi(m[2])
			cur = &AsmFunc{Name: shortSym(m[1]), Size: size, Args: m[3], Locals: m[4]}
			continue
		}
		if cur == nil {
			continue
		}
		m := asmInst.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		op := m[3]
		if op == "PCDATA" || op == "FUNCDATA" {
			continue
		}
		pc, _ := strconv.Atoi(m[1])
		file, line := splitPos(m[2])
		if op == "TEXT" {
			if file == snippetFile {
				cur.Line = line
			}
			continue
		}
		in := inst{pc: pc, file: file, line: line, op: op, args: shortSym(m[4]), jumpTarget: -1}
		if strings.HasPrefix(op, "J") {
			if t, err := strconv.Atoi(strings.TrimSpace(m[4])); err == nil {
				in.jumpTarget = t
			}
		}
		insts = append(insts, in)
	}
	flush()
	// Drop functions that are not in the snippet file (wrappers the
	// compiler generates, such as equality functions).
	kept := funcs[:0]
	for _, f := range funcs {
		if f.Line > 0 {
			kept = append(kept, f)
		}
	}
	return kept
}

// shortPaths replaces the snippet's path in the temporary module with its
// file name, and removes its package path from symbols.
func shortPaths(s string) string {
	return shortSym(strings.ReplaceAll(s, snippetPkg+"/"+snippetFile, snippetFile))
}

// shortSym removes the temporary module's package path from symbols.
func shortSym(s string) string {
	return strings.ReplaceAll(s, snippetPkg+".", "")
}

// splitPos splits "tuneexp/snippet/snippet.go:13" into the file (just the
// base name for the snippet, the path otherwise) and the line.
func splitPos(pos string) (string, int) {
	i := strings.LastIndexByte(pos, ':')
	if i < 0 {
		return pos, 0
	}
	line, _ := strconv.Atoi(pos[i+1:])
	file := pos[:i]
	if file == snippetFile || strings.HasSuffix(file, "/snippet/"+snippetFile) {
		file = snippetFile
	}
	return file, line
}

// gcTrace matches the line GODEBUG=gctrace=1 prints after each collection:
// "gc 1 @0.016s 1%: 0.23+3.8+0.006 ms clock, 0.47+0.39/0.31/0.17+0.013 ms cpu,
// 3->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)".
var gcTrace = regexp.MustCompile(`^gc (\d+) @([0-9.]+)s \d+%: ([0-9.]+)\+([0-9.]+)\+([0-9.]+) ms clock, \S+ ms cpu, (\d+)->(\d+)->(\d+) MB, (\d+) MB goal,.*? \d+ P( \(forced\))?$`)

// parseGCTrace parses one gctrace line. The pause is the sum of the two
// stop-the-world phases (sweep termination and mark termination).
func parseGCTrace(line string) (Cycle, bool) {
	m := gcTrace.FindStringSubmatch(strings.TrimRight(line, "\r"))
	if m == nil {
		return Cycle{}, false
	}
	n, _ := strconv.Atoi(m[1])
	at, _ := strconv.ParseFloat(m[2], 64)
	stw1, _ := strconv.ParseFloat(m[3], 64)
	conc, _ := strconv.ParseFloat(m[4], 64)
	stw2, _ := strconv.ParseFloat(m[5], 64)
	before, _ := strconv.Atoi(m[6])
	after, _ := strconv.Atoi(m[7])
	live, _ := strconv.Atoi(m[8])
	goal, _ := strconv.Atoi(m[9])
	return Cycle{
		N: n, AtMs: at * 1000, PauseMs: stw1 + stw2, ConcurrentMs: conc,
		HeapStartMB: before, HeapEndMB: after, LiveMB: live, GoalMB: goal,
		Forced: m[10] != "",
	}, true
}

// cleanStack makes a Go stack trace (the harness's panic report, or a
// crash the runtime printed) read in the snippet's terms: the temporary
// module's paths become "snippet.go", GOROOT's become the standard
// library's own ("runtime/panic.go"), the snippet's functions lose their
// package path, the program-counter offsets go, and so do the frames of
// the harness (package main) and of its recovery (everything above the
// panic call, when the stack comes from debug.Stack in the harness's
// deferred function). line is the snippet line of the innermost snippet
// frame left, or 0.
func cleanStack(text, mod, goroot string) (out string, line int) {
	if text == "" {
		return "", 0
	}
	rep := strings.NewReplacer(
		mod+"/snippet/"+snippetFile, snippetFile,
		mod+"/", "",
		goroot+"/src/", "",
		snippetPkg+".", "",
	)
	lines := strings.Split(rep.Replace(text), "\n")
	// A frame is a function line and the "\tfile:line +0x..." line under it.
	isFrame := func(i int) bool {
		return i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") && !strings.HasPrefix(lines[i], "\t") && lines[i] != ""
	}
	var keep []string
	skipToPanic := strings.Contains(text, "runtime/debug.Stack()")
	for i := 0; i < len(lines); i++ {
		if !isFrame(i) {
			keep = append(keep, lines[i])
			continue
		}
		fn, pos := lines[i], lines[i+1]
		i++
		if skipToPanic {
			if strings.HasPrefix(fn, "panic(") {
				skipToPanic = false
			}
			continue
		}
		if strings.HasPrefix(fn, "main.") || strings.HasPrefix(fn, "created by main.") {
			continue
		}
		if j := strings.LastIndex(pos, " +0x"); j > 0 {
			pos = pos[:j]
		}
		if line == 0 && strings.HasPrefix(pos, "\t"+snippetFile+":") {
			line, _ = strconv.Atoi(strings.TrimPrefix(pos, "\t"+snippetFile+":"))
		}
		keep = append(keep, fn, pos)
	}
	return strings.TrimRight(strings.Join(keep, "\n"), "\n") + "\n", line
}
