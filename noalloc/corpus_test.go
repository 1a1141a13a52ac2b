package noalloc

import (
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// corpusWants reads the "want:" line of every marked function of the
// corpus: alloc, clean or allowed.
func corpusWants(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("testdata", "corpus", "cases.go"), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	wants := map[string]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Doc == nil || !strings.Contains(fd.Doc.Text(), "want:") && !strings.Contains(fmt.Sprint(fd.Doc.List), directiveNoalloc) {
			continue
		}
		_, after, ok := strings.Cut(fd.Doc.Text(), "want: ")
		if !ok {
			t.Fatalf("%s is marked but has no want: line", fd.Name.Name)
		}
		name := fd.Name.Name
		if fd.Recv != nil {
			recv, star, _ := recvName(fd.Recv.List[0].Type)
			name = recv + "." + name
			if star {
				name = "(*" + recv + ")." + fd.Name.Name
			}
		}
		wants["corpus."+name] = strings.Fields(after)[0]
	}
	return wants
}

// verdict says what the report concluded for a root, in the words of the
// corpus's want lines.
func verdict(r *Root) string {
	switch {
	case !r.OK():
		return "alloc"
	case len(r.Allowed) > 0:
		return "allowed"
	}
	return "clean"
}

// measureCorpus runs every CaseX of the corpus under testing.AllocsPerRun
// in a program built without -race (the race detector adds allocations),
// from a copy of the corpus with a generated main package.
func measureCorpus(t *testing.T, cases []string) map[string]float64 {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "corpus"))); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n\t\"encoding/json\"\n\t\"os\"\n\t\"testing\"\n\n\t\"corpus\"\n)\n\nfunc main() {\n\tm := map[string]float64{}\n")
	for _, c := range cases {
		name := strings.TrimPrefix(c, "corpus.")
		fmt.Fprintf(&b, "\tm[%q] = testing.AllocsPerRun(10, corpus.%s)\n", c, name)
	}
	b.WriteString("\t_ = json.NewEncoder(os.Stdout).Encode(m)\n}\n")
	if err := os.Mkdir(filepath.Join(dir, "measure"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "measure", "main.go"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./measure")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("measuring the corpus: %v", err)
	}
	m := map[string]float64{}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("reading the measurements %q: %v", out, err)
	}
	return m
}

// documentedFalsePositives returns the cases the README lists as false
// positives.
func documentedFalsePositives(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## False positives on the corpus")
	if !ok {
		t.Fatal(`README.md has no "## False positives on the corpus" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var names []string
	for _, m := range regexp.MustCompile("(?m)^- `(Case\\w+)`").FindAllStringSubmatch(section, -1) {
		names = append(names, "corpus."+m[1])
	}
	slices.Sort(names)
	return names
}

// TestCheckCorpus holds the checker to the corpus: every verdict is the one
// the case's want line states, no case it calls clean allocates when
// measured, and every case it flags that measures zero allocations is a
// false positive listed in the README with its reason.
func TestCheckCorpus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	wants := corpusWants(t)
	if len(wants) < 40 {
		t.Fatalf("the corpus has %d cases, want at least 40", len(wants))
	}
	rep, err := Check(ctx, filepath.Join("testdata", "corpus"), []string{"./..."})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*Root{}
	for _, r := range rep.Roots {
		got[r.Func] = r
	}
	var cases []string
	for name, want := range wants {
		r := got[name]
		if r == nil {
			t.Errorf("%s: not in the report", name)
			continue
		}
		if v := verdict(r); v != want {
			t.Errorf("%s: checker says %s, the corpus wants %s; findings: %s", name, v, want, describe(r.Findings))
		}
		if strings.HasPrefix(name, "corpus.Case") {
			cases = append(cases, name)
		}
	}
	slices.Sort(cases)
	allocs := measureCorpus(t, cases)
	var fps []string
	for _, name := range cases {
		a, ok := allocs[name]
		if !ok {
			t.Errorf("%s: not measured", name)
			continue
		}
		switch v := verdict(got[name]); {
		case v == "clean" && a > 0:
			t.Errorf("FALSE NEGATIVE %s: checker says it cannot allocate, AllocsPerRun measures %v", name, a)
		case v == "alloc" && a == 0:
			fps = append(fps, name)
		}
		t.Logf("%-40s checker=%-7s measured=%v", name, verdict(got[name]), a)
	}
	if doc := documentedFalsePositives(t); !slices.Equal(fps, doc) {
		t.Errorf("false positives (flagged, measured 0 allocations):\n got %v\nREADME lists %v\nlist each in README.md with its reason", fps, doc)
	}
}

func describe(fs []*Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n\t%s: %s", f.Pos, f.What)
	}
	return b.String()
}
