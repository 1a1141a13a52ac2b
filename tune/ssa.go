package tune

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The SSA tab shows the compiler's SSA form of one function after each
// pass. GOSSAFUNC (which writes ssa.html) is one of the go command's
// "magic" environment variables: it is hashed into the build ID of every
// package, so with it set the go command rebuilds the whole standard
// library, and the compiler looks for the function in each package (27 s
// on the project's machine for a snippet that imports fmt). Instead tune
// passes the compiler's own flag -d=ssa/all/dump=FUNC to the snippet's
// package only (-gcflags=tuneexp/snippet=...): the standard library comes
// from the build cache, and the compiler writes the function after each
// pass as text, one file per pass (FUNC_NN__PASS.dump), which tune reads
// and diffs. It is the same text ssa.html shows per column, without the
// page's scripts (which the page's Content-Security-Policy would block).

// SSARequest is what POST /api/ssa takes: a snippet, the function to
// show, the build mode and the Go release.
type SSARequest struct {
	Code string `json:"code"`
	// Func is the function: "Run", a method as "T.M" or "(*T).M", a
	// closure as "Run.func1". Empty means the snippet's entry function
	// (the first exported one that takes one string), else its first
	// function.
	Func string `json:"func,omitempty"`
	Mode string `json:"mode,omitempty"` // "release" (default) or "debug"
	Go   string `json:"go,omitempty"`   // a Go release such as "go1.27.3"; empty: the installed one
}

// SSAResult is the answer of POST /api/ssa.
type SSAResult struct {
	Func      string `json:"func"`
	Mode      string `json:"mode"`
	GoVersion string `json:"goVersion"`
	// Funcs are the functions of the snippet one can ask for.
	Funcs []string `json:"funcs"`
	// Passes are the function after each pass, in the order the compiler
	// ran them: "build" (the SSA as first built) first, "genssa" (the
	// machine instructions) last. Passes the compiler skipped (most of
	// them in Debug) are not listed.
	Passes []SSAPass `json:"passes,omitempty"`
	// Changed is how many passes changed the function.
	Changed int `json:"changed"`
	// Error says why there are no passes: the snippet does not compile
	// (CompileErrors, BuildOutput) or the compiler made no SSA of Func.
	Error         string         `json:"error,omitempty"`
	CompileErrors []CompileError `json:"compileErrors,omitempty"`
	BuildOutput   string         `json:"buildOutput,omitempty"`
	BuildMs       float64        `json:"buildMs"`
}

// SSAPass is the function after one pass of the compiler.
type SSAPass struct {
	Seq  int    `json:"seq"`  // 1 for "build"
	Name string `json:"name"` // such as "opt", "prove", "regalloc"
	// Changed is true when the pass changed the function's text (the
	// first pass always counts as a change).
	Changed bool `json:"changed"`
	// Text is the function as the compiler printed it after the pass, in
	// the snippet's terms (snippet.go). Truncated says it was cut at
	// maxSSAText bytes.
	Text      string `json:"text"`
	Truncated bool   `json:"truncated,omitempty"`
	// Added and Removed are how many lines the pass added and removed
	// (a line diff with the previous pass).
	Added   int `json:"added"`
	Removed int `json:"removed"`
}

// Bounds on an SSA answer.
const (
	maxSSAText  = 512 << 10 // per pass
	maxSSATotal = 16 << 20  // all passes
)

// ssaDumpRE matches the name of a dump file: FUNC_NN__PASS.dump.
var ssaDumpRE = regexp.MustCompile(`_(\d+)__(.+)\.dump$`)

// funcNames returns the names by which the compiler calls the snippet's
// functions (Run, T.M, (*T).M), in source order.
func funcNames(f *ast.File) (names []string) {
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name == "_" {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			t := fd.Recv.List[0].Type
			star := false
			if s, ok := t.(*ast.StarExpr); ok {
				star, t = true, s.X
			}
			switch x := t.(type) {
			case *ast.IndexExpr:
				t = x.X
			case *ast.IndexListExpr:
				t = x.X
			}
			id, ok := t.(*ast.Ident)
			if !ok {
				continue
			}
			if star {
				name = "(*" + id.Name + ")." + name
			} else {
				name = id.Name + "." + name
			}
		}
		names = append(names, name)
	}
	return names
}

// closureRE matches the compiler's name of a closure: Run.func1,
// Run.func1.2, (*T).M.func3.
var closureRE = regexp.MustCompile(`^(.+?)\.func\d+(\.\d+)*$`)

// SSA compiles the snippet's package with the compiler dumping Func after
// every pass, in the build's sandbox, and returns the passes. It returns
// ErrBusy while a run is in progress, and an error for a request it cannot
// serve (an unknown function or Go release, an unknown mode).
func (r *Runner) SSA(ctx context.Context, req SSARequest, onEvent func(Event)) (*SSAResult, error) {
	ctx, st, release, err := r.claim(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	mode, err := checkModeAndSize(req.Mode, req.Code)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, snippetFile, req.Code, parser.SkipObjectResolution)
	res := &SSAResult{Mode: mode}
	if err != nil {
		res.CompileErrors = syntaxErrors(err)
		res.Error = "the snippet does not parse"
		return res, nil
	}
	res.Funcs = funcNames(f)
	fn := strings.TrimSpace(req.Func)
	if fn == "" {
		if e, err := findEntry(fset, f); err == nil {
			fn = e.Name
		} else if len(res.Funcs) > 0 {
			fn = res.Funcs[0]
		} else {
			return nil, errors.New("the snippet declares no function: the SSA tab shows one function's SSA")
		}
	}
	if !knownFunc(fn, res.Funcs) {
		return nil, fmt.Errorf("unknown function %q: the snippet declares %s (a method as T.M or (*T).M, a closure as F.func1)", fn, strings.Join(res.Funcs, ", "))
	}
	res.Func = fn

	restore, err := r.switchToolchain(ctx, req.Go, onEvent)
	if err != nil {
		return nil, err
	}
	defer restore()
	res.GoVersion = r.env.version

	onEvent(Event{Type: "status", Status: "building"})
	// The package clause becomes "snippet", in place (lines and columns
	// stay). A comment with a fresh nonce makes the package's build ID
	// new, so that the compiler runs (and dumps) even when the build cache
	// holds this very snippet.
	start := fset.Position(f.Name.Pos()).Offset
	end := fset.Position(f.Name.End()).Offset
	src := req.Code[:start] + "snippet" + req.Code[end:]
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	mod := filepath.Join(r.dir, "ssa")
	if err := removeTree(mod); err != nil {
		return nil, fmt.Errorf("cleaning the SSA directory: %w", err)
	}
	if err := writeModule(mod, map[string]string{
		"go.mod":                   "module " + modulePath + "\n\ngo " + r.lang + "\n",
		"snippet/" + snippetFile:   src,
		"snippet/zz_tune_nonce.go": "// Code generated by zerogc tune. DO NOT EDIT.\n\n// nonce " + hex.EncodeToString(nonce[:]) + "\n\npackage snippet\n",
	}); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	flags := "-d=ssa/all/dump=" + fn
	if mode == "debug" {
		flags = "-N -l " + flags
	}
	goCmd := r.goCommand()
	args := []string{goCmd, "build", "-gcflags=" + snippetPkg + "=" + flags, "./snippet"}
	bctx, bcancel := context.WithTimeout(ctx, r.opt.BuildTimeout)
	defer bcancel()
	cmd := r.sb.command(bctx, r.buildStage(mod, goCmd, args), false)
	cmd.WaitDelay = 5 * time.Second
	buf := &capBuffer{max: maxBuildOutput}
	cmd.Stdout, cmd.Stderr = buf, buf
	t0 := time.Now()
	buildErr := cmd.Run()
	res.BuildMs = msSince(t0)
	out, _ := buf.result()
	out = normalizeOutput(out, mod)
	switch {
	case ctx.Err() != nil:
		res.Error = "the build was stopped: " + stopReason(st)
		return res, nil
	case bctx.Err() == context.DeadlineExceeded:
		res.Error = fmt.Sprintf("go build took longer than %v", r.opt.BuildTimeout)
		return res, nil
	case strings.Contains(out, "zerogc-tune-sandbox: "):
		res.Error = "the build's sandbox could not be set up: " + strings.TrimSpace(out)
		return res, nil
	case buildErr != nil:
		res.CompileErrors = parseCompileErrors(out)
		res.BuildOutput = strings.TrimSpace(out)
		res.Error = "the snippet does not compile"
		if len(res.CompileErrors) == 0 {
			res.Error = "go build failed: " + buildErr.Error()
		}
		return res, nil
	}
	res.Passes, err = readSSADumps(mod, r.env.root)
	if err != nil {
		return nil, err
	}
	if len(res.Passes) == 0 {
		res.Error = fmt.Sprintf("the compiler made no SSA of %s: a generic function is compiled per shape (its instantiations), and a function is only compiled when it has a body", fn)
	}
	for _, p := range res.Passes {
		if p.Changed {
			res.Changed++
		}
	}
	onEvent(Event{Type: "status", Status: "done"})
	return res, nil
}

// knownFunc reports whether the compiler name fn is one of the snippet's
// functions or a closure inside one.
func knownFunc(fn string, funcs []string) bool {
	for {
		for _, f := range funcs {
			if f == fn {
				return true
			}
		}
		m := closureRE.FindStringSubmatch(fn)
		if m == nil {
			return false
		}
		fn = m[1]
	}
}

// readSSADumps reads the dump files the compiler wrote into dir, in pass
// order, and marks the passes that changed the function.
func readSSADumps(dir, goroot string) ([]SSAPass, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var passes []SSAPass
	files := map[int]string{}
	for _, e := range ents {
		m := ssaDumpRE.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		seq, _ := strconv.Atoi(m[1])
		passes = append(passes, SSAPass{Seq: seq, Name: strings.ReplaceAll(m[2], "_", " ")})
		files[seq] = filepath.Join(dir, e.Name())
	}
	sort.Slice(passes, func(i, j int) bool { return passes[i].Seq < passes[j].Seq })
	rep := strings.NewReplacer(
		filepath.Join(dir, "snippet", snippetFile), snippetFile,
		dir+string(filepath.Separator), "",
		goroot+"/src/", "",
		snippetPkg+".", "",
	)
	total := 0
	prev := ""
	for i := range passes {
		b, err := os.ReadFile(files[passes[i].Seq])
		if err != nil {
			return nil, err
		}
		text := rep.Replace(string(b))
		passes[i].Changed = i == 0 || text != prev
		if passes[i].Changed {
			passes[i].Added, passes[i].Removed = lineDiff(prev, text)
		}
		prev = text
		if len(text) > maxSSAText {
			text, passes[i].Truncated = text[:maxSSAText], true
		}
		if total+len(text) > maxSSATotal {
			text, passes[i].Truncated = "", true
		}
		total += len(text)
		passes[i].Text = text
	}
	return passes, nil
}

// lineDiff counts the lines of b not in a (added) and of a not in b
// (removed), as multisets: the SSA printer's order of values within a
// block is stable, so this is close to a line diff's counts without the
// quadratic cost.
func lineDiff(a, b string) (added, removed int) {
	count := map[string]int{}
	for _, l := range strings.Split(a, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(b, "\n") {
		if count[l] > 0 {
			count[l]--
		} else {
			added++
		}
	}
	for _, n := range count {
		removed += n
	}
	return added, removed
}

// ssa serves POST /api/ssa.
func (s *Server) ssa(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{"send the request as JSON with Content-Type: application/json"})
		return
	}
	var req SSARequest
	if !decodeSnippetRequest(w, r, &req, &req.Code, "an SSA request", ` (expected {"code": "...", "func": "Run", "mode": "release"|"debug", "go": "go1.27.3"})`) {
		return
	}
	res, err := s.runner.SSA(r.Context(), req, s.hub.publish)
	answer(w, res, err)
}
