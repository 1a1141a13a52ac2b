package noalloc

import (
	"bufio"
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// pos is a source position reduced to what the checker compares: an
// absolute file name and a line.
type pos struct {
	File string
	Line int
}

func (p pos) String() string {
	if p.File == "" {
		return "?"
	}
	return p.File + ":" + strconv.Itoa(p.Line)
}

// asmCall is one CALL (or tail-call JMP) in a compiled function.
type asmCall struct {
	At     pos
	Target string // symbol name; "" for an indirect call
	Reg    string // the operand of an indirect call, such as "DX" or "(DX)"
}

// asmFunc is one function of the compiler's -S listing.
type asmFunc struct {
	Sym   string
	Calls []asmCall
}

// decision is one heap decision of escape analysis, with the explanation
// lines -m=2 prints under it.
type decision struct {
	At    pos
	Col   int
	Msg   string   // "x escapes to heap", "moved to heap: y"
	Func  string   // the function named by "in F:", if any
	Chain []string // "flow: ..." and "from ... at ..." lines, trimmed
}

// inlineSite is a "inlining call to F" diagnostic.
type inlineSite struct {
	At     pos
	Callee string
}

// compilerOutput is what the checker took from the -m=2 -S output of the
// compiled packages.
type compilerOutput struct {
	funcs     map[string]*asmFunc
	decisions map[pos][]*decision
	inlines   map[string][]*inlineSite // by the callee's last identifier
}

func newCompilerOutput() *compilerOutput {
	return &compilerOutput{
		funcs:     map[string]*asmFunc{},
		decisions: map[pos][]*decision{},
		inlines:   map[string][]*inlineSite{},
	}
}

// parseInst parses an instruction line of -S:
// "\t0x0023 00035 (/abs/file.go:121)\tCALL\tsym(SB)". Hex dumps and
// relocation lines are not instructions.
func parseInst(line string) (inst, bool) {
	rest, ok := strings.CutPrefix(line, "\t0x")
	if !ok {
		return inst{}, false
	}
	_, rest, ok = strings.Cut(rest, " ")
	if !ok {
		return inst{}, false
	}
	pcText, rest, ok := strings.Cut(rest, " (")
	if !ok {
		return inst{}, false
	}
	pc, err := strconv.Atoi(pcText)
	if err != nil {
		return inst{}, false
	}
	where, rest, ok := strings.Cut(rest, ")\t")
	if !ok {
		return inst{}, false
	}
	i := strings.LastIndexByte(where, ':')
	if i < 0 {
		return inst{}, false
	}
	ln, err := strconv.Atoi(where[i+1:])
	if err != nil {
		return inst{}, false
	}
	op, arg, _ := strings.Cut(rest, "\t")
	return inst{pc: pc, at: pos{File: where[:i], Line: ln}, op: op, arg: strings.TrimSpace(arg)}, true
}

// parseDiag splits a compiler diagnostic "file.go:12:7: message" into
// file, line, column and message; nil if line is not one.
func parseDiag(line string) []string {
	i := strings.Index(line, ".go:")
	if i < 0 {
		return nil
	}
	file, rest := line[:i+3], line[i+4:]
	ln, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return nil
	}
	col, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return nil
	}
	if _, err := strconv.Atoi(ln); err != nil {
		return nil
	}
	if _, err := strconv.Atoi(col); err != nil {
		return nil
	}
	return []string{line, file, ln, col, msg}
}

// inFunc matches the " in F:" that -m=2 puts at the end of an explained decision.
var inFunc = regexp.MustCompile(` in (.+):$`)

// parse adds the compiler output out, printed by a go command run in dir,
// to c. Relative file names in diagnostics are relative to dir.
func (c *compilerOutput) parse(out []byte, dir string) {
	var fn *asmFunc
	var cur *decision
	var insts []inst
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if fn != nil && !strings.HasPrefix(line, "\t") {
			fn.Calls = calls(insts)
			fn, insts = nil, insts[:0]
		}
		if strings.HasPrefix(line, "\t") {
			cur = nil
			if fn == nil {
				continue
			}
			in, ok := parseInst(line)
			if !ok {
				continue // hex dump, rel lines
			}
			insts = append(insts, in)
			continue
		}
		if fn != nil {
			fn.Calls = calls(insts)
			fn, insts = nil, insts[:0]
		}
		if i := strings.Index(line, " STEXT"); i > 0 && !strings.Contains(line[:i], ".go:") {
			sym := line[:i]
			if _, dup := c.funcs[sym]; dup {
				fn = nil // a DUPOK function compiled in several packages
				continue
			}
			fn = &asmFunc{Sym: sym}
			c.funcs[sym] = fn
			continue
		}
		m := parseDiag(line)
		if m == nil {
			cur = nil
			continue
		}
		file := m[1]
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		ln, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		at := pos{File: file, Line: ln}
		msg := m[4]
		if strings.HasPrefix(msg, "  ") {
			if cur != nil {
				cur.Chain = append(cur.Chain, strings.TrimSpace(msg))
			}
			continue
		}
		cur = nil
		if callee, ok := strings.CutPrefix(msg, "inlining call to "); ok {
			key := at.String() + ":" + strconv.Itoa(col) + " " + msg
			if !seen[key] {
				seen[key] = true
				k := lastName(callee)
				c.inlines[k] = append(c.inlines[k], &inlineSite{At: at, Callee: callee})
			}
			continue
		}
		if !strings.Contains(msg, "escapes to heap") && !strings.HasPrefix(msg, "moved to heap") {
			continue
		}
		d := &decision{At: at, Col: col, Msg: msg}
		if f := inFunc.FindStringSubmatch(msg); f != nil {
			d.Func = f[1]
			d.Msg = strings.TrimSuffix(msg, f[0])
		}
		if d.Func == "" {
			// The summary line -m=2 prints after an explained decision.
			dupe := false
			for _, o := range c.decisions[at] {
				if o.Col == col && o.Msg == d.Msg {
					dupe = true
				}
			}
			if dupe {
				continue
			}
		} else {
			// An explained decision already recorded by another package's
			// output (a DUPOK generic instantiation).
			dupe := false
			for _, o := range c.decisions[at] {
				if o.Col == col && o.Msg == d.Msg && o.Func == d.Func {
					dupe = true
				}
			}
			if dupe {
				continue
			}
		}
		c.decisions[at] = append(c.decisions[at], d)
		if d.Func != "" {
			cur = d
		}
	}
	if fn != nil {
		fn.Calls = calls(insts)
	}
}

// inst is one instruction of a -S listing.
type inst struct {
	pc      int
	at      pos
	op, arg string
}

// calls returns the calls of one function's instructions. An indirect
// call whose target is the code of a closure or defer wrapper of this
// function, provably, is a static call of it (see closureFlow).
func calls(insts []inst) []asmCall {
	targets := map[int]bool{}
	for _, in := range insts {
		if strings.HasPrefix(in.op, "J") {
			if n, err := strconv.Atoi(in.arg); err == nil {
				targets[n] = true
			}
		}
	}
	var out []asmCall
	cf := newClosureFlow()
	for _, in := range insts {
		if targets[in.pc] {
			cf.join()
		}
		switch {
		case in.op != "CALL" && in.op != "JMP" && in.op != "BL" && in.op != "B":
			cf.track(in.op, in.arg)
		case strings.HasSuffix(in.arg, "(SB)"):
			out = append(out, asmCall{At: in.at, Target: strings.TrimSuffix(in.arg, "(SB)")})
			cf.join()
		case in.op == "CALL" && cf.code[in.arg] != "":
			out = append(out, asmCall{At: in.at, Target: cf.code[in.arg]})
			cf.join()
		case in.op == "CALL" || in.op == "BL":
			out = append(out, asmCall{At: in.at, Reg: in.arg})
			cf.join()
		}
	}
	return out
}

// closureFlow follows, within one amd64 function, where the address of a
// closure's code ("F.func1", "F.deferwrap1") goes. An open-coded defer
// stores the code (or a stack closure holding it) in a stack slot and calls
// it through a register at the function's exits; a call of a register that
// provably holds that code is a static call.
//
// Soundness: registers are forgotten at every branch target and after
// every call (the ABI clobbers them), so a register value is only trusted
// along straight-line code; a stack slot written with two different
// values, or with anything unknown, is poisoned for the whole function.
type closureFlow struct {
	code     map[string]string // location → closure code it holds
	ptr      map[string]string // location → closure code at the address it holds
	poisoned map[string]bool   // stack slots written with differing values
}

func newClosureFlow() *closureFlow {
	return &closureFlow{code: map[string]string{}, ptr: map[string]string{}, poisoned: map[string]bool{}}
}

func isSlot(loc string) bool { return strings.HasSuffix(loc, "(SP)") }

// join forgets the registers, keeping what the stack slots hold.
func (f *closureFlow) join() {
	for _, m := range []map[string]string{f.code, f.ptr} {
		for loc := range m {
			if !isSlot(loc) {
				delete(m, loc)
			}
		}
	}
}

func (f *closureFlow) set(dst string, code, ptr string) {
	if isSlot(dst) {
		if f.poisoned[dst] {
			return
		}
		if (code == "" && ptr == "") || (f.code[dst] != "" && f.code[dst] != code) || (f.ptr[dst] != "" && f.ptr[dst] != ptr) {
			if f.code[dst] != "" || f.ptr[dst] != "" || code != "" || ptr != "" {
				f.poisoned[dst] = true
			}
			delete(f.code, dst)
			delete(f.ptr, dst)
			return
		}
	}
	delete(f.code, dst)
	delete(f.ptr, dst)
	if code != "" {
		f.code[dst] = code
	}
	if ptr != "" {
		f.ptr[dst] = ptr
	}
}

func isClosureCode(sym string) bool {
	last := sym[strings.LastIndexByte(sym, '.')+1:]
	return strings.HasPrefix(last, "func") || strings.HasPrefix(last, "deferwrap")
}

func (f *closureFlow) track(op, args string) {
	src, dst := "", args
	if i := strings.LastIndex(args, ", "); i >= 0 {
		src, dst = args[:i], args[i+2:]
	}
	switch {
	case dst == "" || strings.HasPrefix(dst, "$"):
		// No destination (RET, NOP) or none that can hold code (PCDATA).
	case src == "":
		f.set(dst, "", "") // a one-operand instruction rewrites its operand
	case op == "LEAQ" && strings.HasSuffix(src, "(SB)") && isClosureCode(strings.TrimSuffix(src, "(SB)")):
		f.set(dst, strings.TrimSuffix(src, "(SB)"), "")
	case op == "LEAQ" && isSlot(src) && !f.poisoned[src] && f.code[src] != "":
		f.set(dst, "", f.code[src])
	case op == "MOVQ" && strings.HasPrefix(src, "(") && f.ptr[strings.Trim(src, "()")] != "":
		f.set(dst, f.ptr[strings.Trim(src, "()")], "")
	case op == "MOVQ" && !(isSlot(src) && f.poisoned[src]):
		f.set(dst, f.code[src], f.ptr[src])
	default:
		f.set(dst, "", "")
	}
}
