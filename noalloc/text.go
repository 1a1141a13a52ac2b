package noalloc

import (
	"fmt"
	"io"
	"strings"
)

// MaxFindings is how many findings WriteText prints per marked function
// when not verbose; JSON output always holds all of them.
const MaxFindings = 12

// WriteText prints the report as "file:line: message" lines an editor can
// jump to, each finding followed by its call chain and the compiler's
// reasons. verbose adds the allowed findings with their reasons, the
// functions proven not to allocate and the notes.
func (r *Report) WriteText(w io.Writer, verbose bool) {
	bad := 0
	for _, root := range r.Roots {
		if root.OK() {
			if verbose {
				fmt.Fprintf(w, "%s: %s: cannot allocate (%d compiled form(s) checked)\n", root.Pos, root.Func, len(root.Symbols))
			}
		} else {
			bad++
			for i, f := range root.Findings {
				if i == MaxFindings && !verbose {
					fmt.Fprintf(w, "%s: %s: ... and %d more findings (-v or --json shows all)\n", root.Pos, root.Func, len(root.Findings)-i)
					break
				}
				writeFinding(w, root, f)
			}
		}
		if verbose {
			for _, f := range root.Allowed {
				writeFinding(w, root, f)
			}
		}
	}
	if verbose {
		for _, n := range r.Notes {
			fmt.Fprintln(w, "note:", n)
		}
	}
	if len(r.Roots) == 0 {
		fmt.Fprintln(w, "zerogc check: no function is marked //zerogc:noalloc")
		return
	}
	fmt.Fprintf(w, "zerogc check: %d of %d marked functions can allocate (%d packages read, %.1fs)\n",
		bad, len(r.Roots), r.Compiled, r.Elapsed.Seconds())
}

func writeFinding(w io.Writer, root *Root, f *Finding) {
	verdict := "can allocate"
	switch {
	case f.Allow != "":
		verdict = "allowed (" + f.Allow + ")"
	case f.Kind != KindAlloc:
		verdict = "cannot be verified"
	}
	fmt.Fprintf(w, "%s: %s %s: %s\n", f.Pos, root.Func, verdict, f.What)
	if len(f.Inlined) > 0 {
		fmt.Fprintf(w, "\tinlined at %s into %s\n", strings.Join(f.Inlined, " ← "), f.Func)
	}
	if len(f.Chain) > 0 {
		fmt.Fprintf(w, "\tcall chain: %s (%s)", root.Func, root.Pos)
		for _, fr := range f.Chain {
			fmt.Fprintf(w, " → %s (called at %s)", fr.Func, fr.Pos)
		}
		fmt.Fprintln(w)
	}
	for _, c := range f.Compiler {
		lines := strings.Split(c, "\n")
		fmt.Fprintf(w, "\tcompiler: %s\n", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "\t\t%s\n", l)
		}
	}
}
