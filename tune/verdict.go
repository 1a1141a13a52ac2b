package tune

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerogc/zerogc/noalloc"
)

// NoallocFunc is the noalloc verdict on one function of the snippet: the
// check of `zerogc check` (package noalloc) made on every function, as if
// each were marked //zerogc:noalloc.
type NoallocFunc struct {
	Func string `json:"func"` // such as "Run" or "(*T).M"
	Line int    `json:"line"` // where it is declared in the snippet
	// OK is true when the function provably does not allocate on the heap,
	// its callees included; otherwise Findings say how it can, each with
	// the call chain from the function and the compiler's reasons.
	OK       bool               `json:"ok"`
	Findings []*noalloc.Finding `json:"findings,omitempty"`
	// More counts the findings left out after the first maxFindings.
	More int `json:"more,omitempty"`
}

// maxFindings is how many findings of one function a result keeps.
const maxFindings = 50

// NoallocVerdict is the noalloc check of a run's snippet.
type NoallocVerdict struct {
	Funcs []NoallocFunc `json:"funcs"`
	// Error says why the check could not be made; the run's other results
	// stand.
	Error string  `json:"error,omitempty"`
	Ms    float64 `json:"ms"`
}

// noallocArg, as the first argument of tune's own executable, makes it
// run the noalloc check of the package in the current directory (the
// second argument) and print the Report as JSON: tune starts it as the
// program of a sandbox stage, in the run's module, because the check runs
// the go command on the snippet's code.
const noallocArg = "-zerogc-tune-noalloc"

func init() {
	if len(os.Args) == 3 && os.Args[1] == noallocArg {
		os.Exit(runNoallocCheck(os.Args[2]))
	}
}

// noallocAnswer is what the check process prints.
type noallocAnswer struct {
	Report *noalloc.Report `json:"report,omitempty"`
	Error  string          `json:"error,omitempty"`
}

func runNoallocCheck(pattern string) int {
	rep, err := noalloc.CheckWith(context.Background(), ".", []string{pattern}, noalloc.Options{AllFunctions: true})
	a := noallocAnswer{Report: rep}
	if err != nil {
		a.Error = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(a); err != nil {
		return 1
	}
	return 0
}

// checkNoalloc runs the noalloc check of the snippet's package in mod, in
// the sandbox the build runs in (same environment, same file rules, and
// tune's own executable, which runs the check, readable).
func (r *Runner) checkNoalloc(ctx context.Context, mod string) *NoallocVerdict {
	start := time.Now()
	v := &NoallocVerdict{}
	defer func() { v.Ms = msSince(start) }()
	exe, err := os.Executable()
	if err != nil {
		v.Error = "finding tune's executable: " + err.Error()
		return v
	}
	ctx, cancel := context.WithTimeout(ctx, r.opt.BuildTimeout)
	defer cancel()
	c := r.buildStage(mod, exe, []string{exe, noallocArg, "./snippet"})
	// tune's executable may be linked dynamically (cgo): its loader and
	// libraries, and nothing else of the system, are readable too.
	c.ReadOnly = append(append(c.ReadOnly, exe), sharedLibraries(exe)...)
	cmd := r.sb.command(ctx, c, false)
	cmd.WaitDelay = 5 * time.Second
	out := &capBuffer{max: maxBuildOutput}
	errb := &capBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = out, errb
	runErr := cmd.Run()
	stdout, _ := out.result()
	stderr, _ := errb.result()
	var a noallocAnswer
	if err := json.Unmarshal([]byte(stdout), &a); err != nil {
		switch {
		case ctx.Err() == context.DeadlineExceeded:
			v.Error = fmt.Sprintf("the noalloc check took longer than %v", r.opt.BuildTimeout)
		case ctx.Err() != nil:
			v.Error = "the noalloc check was stopped"
		default:
			v.Error = fmt.Sprintf("the noalloc check failed (%v): %s", runErr, strings.TrimSpace(normalizeOutput(stderr, mod)))
		}
		return v
	}
	if a.Error != "" {
		v.Error = normalizeOutput(a.Error, mod)
		return v
	}
	v.Funcs = snippetVerdicts(a.Report, mod)
	return v
}

// snippetVerdicts keeps the report's functions declared in the snippet
// (not tune's generated files), with positions in the snippet's terms.
func snippetVerdicts(rep *noalloc.Report, mod string) []NoallocFunc {
	if rep == nil {
		return nil
	}
	fix := func(p string) string {
		p = strings.TrimPrefix(p, mod+string(filepath.Separator))
		return strings.TrimPrefix(p, "snippet"+string(filepath.Separator))
	}
	var out []NoallocFunc
	for _, root := range rep.Roots {
		file, line := splitPos(fix(root.Pos))
		if file != snippetFile {
			continue
		}
		f := NoallocFunc{Func: strings.TrimPrefix(root.Func, "snippet."), Line: line, OK: root.OK()}
		for _, fd := range root.Findings {
			fd.Pos = fix(fd.Pos)
			fd.Func = strings.ReplaceAll(fd.Func, "snippet.", "")
			for i := range fd.Chain {
				fd.Chain[i].Pos = fix(fd.Chain[i].Pos)
				fd.Chain[i].Func = strings.ReplaceAll(fd.Chain[i].Func, "snippet.", "")
			}
			for i, s := range fd.Inlined {
				fd.Inlined[i] = fix(s)
			}
			for i, s := range fd.Compiler {
				fd.Compiler[i] = strings.ReplaceAll(s, "snippet/"+snippetFile, snippetFile)
			}
			if len(f.Findings) == maxFindings {
				f.More++
				continue
			}
			f.Findings = append(f.Findings, fd)
		}
		out = append(out, f)
	}
	return out
}

// sharedLibraries returns the dynamic loader of the ELF executable exe
// and the files of the libraries it needs, as found in the usual
// directories (symbolic links and their targets); none for a static
// executable.
func sharedLibraries(exe string) []string {
	f, err := elf.Open(exe)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	add := func(p string) {
		out = append(out, p)
		if t, err := filepath.EvalSymlinks(p); err == nil && t != p {
			out = append(out, t)
		}
	}
	dirs := []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	for _, prog := range f.Progs {
		if prog.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, prog.Filesz)
		if _, err := prog.ReadAt(b, 0); err == nil {
			interp := strings.TrimRight(string(b), "\x00")
			add(interp)
			if t, err := filepath.EvalSymlinks(interp); err == nil {
				dirs = append([]string{filepath.Dir(t)}, dirs...)
			}
		}
	}
	libs, _ := f.ImportedLibraries()
	for _, l := range libs {
		for _, d := range dirs {
			if p := filepath.Join(d, l); fileExists(p) {
				add(p)
				break
			}
		}
	}
	return out
}
