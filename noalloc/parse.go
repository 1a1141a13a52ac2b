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

// asmInst matches an instruction line of -S: "\t0x0023 00035 (/abs/file.go:121)\tCALL\tsym(SB)".
var asmInst = regexp.MustCompile(`^\t0x[0-9a-f]+ \d+ \((.*):(\d+)\)\t([A-Z][A-Z0-9.]*)\t?(.*)$`)

// diag matches a compiler diagnostic: "file.go:12:7: message".
var diag = regexp.MustCompile(`^(.+?\.go):(\d+):(\d+): (.*)$`)

// inFunc matches the " in F:" that -m=2 puts at the end of an explained decision.
var inFunc = regexp.MustCompile(` in (.+):$`)

// parse adds the compiler output out, printed by a go command run in dir,
// to c. Relative file names in diagnostics are relative to dir.
func (c *compilerOutput) parse(out []byte, dir string) {
	var fn *asmFunc
	var cur *decision
	var dw deferWrappers
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t") {
			cur = nil
			if fn == nil {
				continue
			}
			m := asmInst.FindStringSubmatch(line)
			if m == nil {
				continue // hex dump, rel lines
			}
			op, arg := m[3], strings.TrimSpace(m[4])
			if op != "CALL" && op != "JMP" && op != "BL" && op != "B" {
				dw.track(op, arg)
				continue
			}
			n, _ := strconv.Atoi(m[2])
			at := pos{File: m[1], Line: n}
			switch {
			case strings.HasSuffix(arg, "(SB)"):
				fn.Calls = append(fn.Calls, asmCall{At: at, Target: strings.TrimSuffix(arg, "(SB)")})
			case op == "CALL" && dw.regs[arg] != "":
				// An open-coded defer calling its wrapper: a static call.
				fn.Calls = append(fn.Calls, asmCall{At: at, Target: dw.regs[arg]})
			case op == "CALL" || op == "BL":
				fn.Calls = append(fn.Calls, asmCall{At: at, Reg: arg})
			}
			continue
		}
		if i := strings.Index(line, " STEXT"); i > 0 && !strings.Contains(line[:i], ".go:") {
			sym := line[:i]
			if _, dup := c.funcs[sym]; dup {
				fn = nil // a DUPOK function compiled in several packages
				continue
			}
			fn = &asmFunc{Sym: sym}
			c.funcs[sym] = fn
			dw = deferWrappers{regs: map[string]string{}, slots: map[string]string{}}
			continue
		}
		if strings.HasPrefix(line, "# ") || strings.Contains(line, " SRODATA") || strings.Contains(line, " SNOPTRDATA") || strings.Contains(line, " SDATA") || strings.Contains(line, " SBSS") || strings.Contains(line, " SDWARF") {
			fn = nil
		}
		m := diag.FindStringSubmatch(line)
		if m == nil {
			cur = nil
			continue
		}
		fn = nil
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
}

// deferWrappers follows, within one amd64 function, where the address of
// a defer wrapper ("F.deferwrap1") goes: an open-coded defer stores it in a
// stack slot and calls it through a register at the function's exits.
// Only a register loaded from such a slot (or by the LEAQ itself), and not
// overwritten since, counts; every other indirect call stays unverifiable.
type deferWrappers struct {
	regs  map[string]string // register → wrapper symbol it holds
	slots map[string]string // stack slot → wrapper symbol stored there
}

func (d *deferWrappers) track(op, args string) {
	src, dst, ok := strings.Cut(args, ", ")
	if !ok {
		return
	}
	switch {
	case op == "LEAQ" && strings.HasSuffix(src, "(SB)") && strings.Contains(src, ".deferwrap"):
		d.regs[dst] = strings.TrimSuffix(src, "(SB)")
	case op == "MOVQ" && d.regs[src] != "" && strings.HasSuffix(dst, "(SP)"):
		d.slots[dst] = d.regs[src]
	case op == "MOVQ" && d.slots[src] != "":
		d.regs[dst] = d.slots[src]
	default:
		delete(d.regs, dst)
		delete(d.slots, dst)
	}
}
