package noalloc

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// copyChain copies testdata/chain to a temporary directory and, when file
// is not empty, adds line after the line of file holding "the scratch test
// adds an allocation".
func copyChain(t *testing.T, file, line string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "chain"))); err != nil {
		t.Fatal(err)
	}
	if file == "" {
		return dir
	}
	path := filepath.Join(dir, file)
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const mark = "// the scratch test adds an allocation after this line\n"
	if !bytes.Contains(src, []byte(mark)) {
		t.Fatalf("%s has no %q", file, mark)
	}
	src = bytes.Replace(src, []byte(mark), []byte(mark+"\t"+line+"\n"), 1)
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkDir(t *testing.T, dir string) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Check(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Roots) != 1 || rep.Roots[0].Func != "hot.Hot" {
		t.Fatalf("roots = %+v, want hot.Hot alone", rep.Roots)
	}
	return rep
}

// TestCheckScratchEdit is the acceptance test of issue 16 on a small
// module: the unedited module is proven clean (its cold error path is
// allowed), and adding _ = fmt.Sprint(x) to the marked function, or to the
// function it calls in another package, makes the check fail with the
// file:line of the allocation, the call chain and the compiler's reason.
func TestCheckScratchEdit(t *testing.T) {
	t.Run("unedited", func(t *testing.T) {
		rep := checkDir(t, copyChain(t, "", ""))
		if !rep.OK() {
			var b strings.Builder
			rep.WriteText(&b, true)
			t.Fatalf("unedited module must be clean:\n%s", b.String())
		}
		if len(rep.Roots[0].Allowed) == 0 {
			t.Fatal("the allowed fmt.Errorf line is not listed as allowed")
		}
	})
	cases := []struct {
		name, file string
		line       int    // line of the added statement
		chain      string // the callee the chain must reach, "" for none
	}{
		{"in the marked function", "hot/hot.go", 21, ""},
		{"in a callee in another package", "helper/helper.go", 11, "helper.Step"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := checkDir(t, copyChain(t, c.file, "_ = fmt.Sprint(x)"))
			if rep.OK() {
				t.Fatal("check passed after adding fmt.Sprint(x)")
			}
			var text strings.Builder
			rep.WriteText(&text, false)
			out := text.String()
			want := c.file + ":" + strconv.Itoa(c.line) + ": hot.Hot can allocate: runtime.convT64"
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			if !strings.Contains(out, "compiler: "+c.file+":"+strconv.Itoa(c.line)) || !strings.Contains(out, "x escapes to heap") {
				t.Errorf("output lacks the compiler's reason at %s:%d:\n%s", c.file, c.line, out)
			}
			if !strings.Contains(out, "fmt.Sprint (called at "+c.file+":"+strconv.Itoa(c.line)+")") {
				t.Errorf("output lacks the chain into fmt.Sprint:\n%s", out)
			}
			if c.chain != "" && !strings.Contains(out, "call chain: hot.Hot (hot/hot.go:16) → "+c.chain+" (called at hot/hot.go:20)") {
				t.Errorf("output lacks the call chain through %s:\n%s", c.chain, out)
			}
		})
	}
}

// TestCheckAllFunctions checks every function of the small module, marked
// or not, as tune will for a snippet: Describe calls fmt.Sprint, Step does
// arithmetic only.
func TestCheckAllFunctions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := CheckWith(ctx, copyChain(t, "", ""), nil, Options{AllFunctions: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rep.Roots {
		got[r.Func] = r.OK()
	}
	want := map[string]bool{"hot.Hot": true, "helper.Step": true, "helper.Describe": false}
	for name, ok := range want {
		if v, found := got[name]; !found || v != ok {
			t.Errorf("%s: in report %v, proven %v; want proven %v (report: %v)", name, found, v, ok, got)
		}
	}
}

// TestCheckInstantiators checks that a marked generic function is checked
// in every shape the module instantiates it with, while only the packages
// needed for that are compiled with the listing: g (marked), a (int and
// string) and d (float64), not b (int again, as a) nor c (none).
func TestCheckInstantiators(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "inst"))); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Roots) != 1 || rep.Roots[0].Func != "g.Twice" || !rep.OK() {
		var b strings.Builder
		rep.WriteText(&b, true)
		t.Fatalf("want g.Twice alone, proven:\n%s", b.String())
	}
	syms := strings.Join(rep.Roots[0].Symbols, " ")
	for _, shape := range []string{"go.shape.int", "go.shape.string", "go.shape.float64"} {
		if !strings.Contains(syms, "inst/g.Twice["+shape+"]") {
			t.Errorf("no instantiation with %s checked; symbols: %s", shape, syms)
		}
	}
	if rep.Compiled != 3 {
		t.Errorf("%d packages compiled with the listing, want 3 (g, a, d)", rep.Compiled)
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes %q: the checker instantiated g.Twice itself", rep.Notes)
	}
}

// TestDefinedFuncs reads the functions of a compiled package from its
// object file in the build cache.
func TestDefinedFuncs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join("testdata", "inst")
	files, err := exportFiles(ctx, dir, []string{"inst/a"})
	if err != nil {
		t.Fatal(err)
	}
	funcs, err := definedFuncs(files["inst/a"])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"inst/a.A", "inst/g.Twice[go.shape.int]", "inst/g.Twice[go.shape.string]", "inst/g.Twice[int]"} {
		if !slices.Contains(funcs, want) {
			t.Errorf("%s not among the defined functions %q", want, funcs)
		}
	}
	if _, err := definedFuncs(filepath.Join("testdata", "inst", "go.mod")); err == nil {
		t.Error("no error for a file that is not an archive")
	}
}
