package tune

import (
	"strconv"
	"strings"
	"testing"
)

const verdictSnippet = `package main

func Add(a, b int) int { return a + b }

func Sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

//go:noinline
func Box(n int) *int {
	return &n
}

func Indirect(n int) *int { return Box(n + 1) }

func Run(input string) int {
	return Sum([]int{Add(1, 2), len(input)})
}
`

// TestIssue16_TuneNoallocVerdict is issue 16 point 4: the result of a run
// says, for each function of the snippet, whether it provably does not
// allocate, and for one that can, where, why (the compiler's reason) and
// through which calls.
func TestIssue16_TuneNoallocVerdict(t *testing.T) {
	srv := startServer(t, Options{})
	code, res, msg := postRun(t, srv, Request{Code: verdictSnippet, Input: "abc"})
	if code != 200 || res.Error != "" {
		t.Fatalf("status %d %s; result error %q\n%s", code, msg, errOf(res), outOf(res))
	}
	v := res.Noalloc
	if v == nil || v.Error != "" {
		t.Fatalf("noalloc verdict %+v", v)
	}
	got := map[string]NoallocFunc{}
	for _, f := range v.Funcs {
		got[f.Func] = f
	}
	for name, want := range map[string]struct {
		ok   bool
		line int
	}{
		"Add": {true, lineOf(t, verdictSnippet, "func Add")}, "Sum": {true, lineOf(t, verdictSnippet, "func Sum")},
		"Run": {true, lineOf(t, verdictSnippet, "func Run")},
		"Box": {false, lineOf(t, verdictSnippet, "func Box")}, "Indirect": {false, lineOf(t, verdictSnippet, "func Indirect")},
	} {
		f, ok := got[name]
		if !ok || f.OK != want.ok || f.Line != want.line {
			t.Errorf("%s: %+v, want ok=%v at line %d", name, f, want.ok, want.line)
		}
	}
	if len(v.Funcs) != 5 {
		t.Errorf("%d functions, want the snippet's 5 and none of tune's files: %+v", len(v.Funcs), v.Funcs)
	}
	boxLine := lineOf(t, verdictSnippet, "func Box")
	moved := func(f NoallocFunc) bool {
		for _, fd := range f.Findings {
			if fd.Pos == "snippet.go:"+strconv.Itoa(boxLine) {
				for _, c := range fd.Compiler {
					if strings.Contains(c, "n escapes to heap") && strings.Contains(c, "from return &n (return) at snippet.go:") && !strings.Contains(c, "snippet/") {
						return true
					}
				}
			}
		}
		return false
	}
	if !moved(got["Box"]) {
		t.Errorf("Box's findings do not name the snippet's line with the compiler's reason: %+v", got["Box"].Findings)
	}
	chained := false
	for _, fd := range got["Indirect"].Findings {
		chained = chained || (len(fd.Chain) == 1 && fd.Chain[0].Func == "Box" && fd.Chain[0].Pos == "snippet.go:"+strconv.Itoa(lineOf(t, verdictSnippet, "return Box(n + 1)")))
	}
	if !chained {
		t.Errorf("Indirect's findings have no chain through Box: %+v", got["Indirect"].Findings)
	}
}
