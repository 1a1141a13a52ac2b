package noalloc

import (
	"context"
	"encoding/json"
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Kinds of a Finding.
const (
	// KindAlloc is a call of a runtime function that allocates on the heap.
	KindAlloc = "alloc"
	// KindIndirect is a call through an interface or a function value,
	// whose target the checker cannot know.
	KindIndirect = "indirect"
	// KindUnknown is a call of a function whose compiled code the checker
	// did not find.
	KindUnknown = "unknown"
)

// Report is the verdict of Check on every //zerogc:noalloc function.
type Report struct {
	// Dir is the directory the patterns were resolved in.
	Dir string `json:"dir"`
	// Roots are the marked functions, in file order.
	Roots []*Root `json:"roots"`
	// Notes are remarks that do not fail the check, such as a generic
	// function that no checked package instantiates.
	Notes []string `json:"notes,omitempty"`
	// Compiled counts the packages whose compiled code was read.
	Compiled int `json:"compiled_packages"`
	// Elapsed is how long Check took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Root is one function marked //zerogc:noalloc.
type Root struct {
	// Func is the function's name as in Go source, qualified by its
	// package name: "vtask.(*Core).SetResult".
	Func string `json:"func"`
	// Pos is the file:line of its declaration.
	Pos string `json:"pos"`
	// Symbols are the compiled symbols checked for it: one, or one per
	// instantiation of a generic function.
	Symbols []string `json:"symbols"`
	// Findings are the ways it can allocate or cannot be verified.
	Findings []*Finding `json:"findings"`
	// Allowed are findings exempted by //zerogc:allow.
	Allowed []*Finding `json:"allowed,omitempty"`
}

// OK reports whether the function is proven not to allocate.
func (r *Root) OK() bool { return len(r.Findings) == 0 }

// Frame is one step of a call chain: a call of Func at Pos.
type Frame struct {
	Func string `json:"func"`
	Pos  string `json:"pos"`
}

// Finding is one way a marked function can allocate.
type Finding struct {
	Kind string `json:"kind"`
	// Pos is where the allocating call lies (inside inlined code: in the
	// inlined function's source).
	Pos string `json:"pos"`
	// What names the call and says what it is for.
	What string `json:"what"`
	// Func is the function whose compiled code holds the call.
	Func string `json:"func"`
	// Chain is the call chain from the marked function to Func; empty when
	// Func is the marked function.
	Chain []Frame `json:"chain,omitempty"`
	// Inlined are the call sites that inlined the code at Pos into Func,
	// innermost first.
	Inlined []string `json:"inlined,omitempty"`
	// Compiler are the escape-analysis decisions (-m=2) at Pos, each with
	// its explanation ("flow: ...", "from ... at ...").
	Compiler []string `json:"compiler,omitempty"`
	// Allow is the reason of the //zerogc:allow that exempts it.
	Allow string `json:"allow,omitempty"`
}

// OK reports whether every marked function is proven not to allocate.
func (r *Report) OK() bool {
	for _, root := range r.Roots {
		if !root.OK() {
			return false
		}
	}
	return true
}

// Check builds the packages matched by patterns (resolved in dir, like
// the go command's; "./..." when empty), finds every function whose doc
// comment holds //zerogc:noalloc and reports each way it can allocate on
// the heap: in its own compiled code and, transitively, in every function
// it calls. Compiler output is taken from the go command's build cache, so
// a second run on an unchanged tree compiles nothing.
//
// An error means the check could not run (a package does not build, a
// directive is malformed); allocations are reported in the Report.
func Check(ctx context.Context, dir string, patterns []string) (*Report, error) {
	return CheckWith(ctx, dir, patterns, Options{})
}

// Options change what CheckWith checks.
type Options struct {
	// AllFunctions checks every function with a body in the matched
	// packages as if it were marked //zerogc:noalloc: the verdict tune
	// shows for a snippet's functions.
	AllFunctions bool
}

// CheckWith is Check with options.
//
// Before its first verdict with a toolchain, it checks a probe package of
// allocating functions with that toolchain, and returns an error instead
// of a Report if the checker finds any of them clean (see probe.go): a Go
// release that allocates through a runtime function the checker does not
// know would otherwise pass allocating code as proven.
func CheckWith(ctx context.Context, dir string, patterns []string, opts Options) (*Report, error) {
	return check(ctx, dir, patterns, opts, true)
}

// check is CheckWith; probe says whether to probe the toolchain first.
func check(ctx context.Context, dir string, patterns []string, opts Options, probe bool) (*Report, error) {
	start := time.Now()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if probe {
		if err := probeToolchain(ctx, abs); err != nil {
			return nil, err
		}
	}
	c := &checker{
		ctx:      ctx,
		dir:      abs,
		out:      newCompilerOutput(),
		pkgs:     map[string]*pkgInfo{},
		src:      map[string]*srcPkg{},
		byFile:   map[string][]*srcFunc{},
		allows:   map[pos]string{},
		compiled: map[string]bool{},
		report:   &Report{Dir: abs},
		opts:     opts,
	}
	if err := c.run(patterns); err != nil {
		return nil, err
	}
	c.report.Compiled = len(c.compiled)
	c.report.Elapsed = time.Since(start)
	return c.report, nil
}

type checker struct {
	ctx      context.Context
	dir      string
	out      *compilerOutput
	pkgs     map[string]*pkgInfo
	src      map[string]*srcPkg
	byFile   map[string][]*srcFunc
	allows   map[pos]string
	compiled map[string]bool
	report   *Report
	opts     Options
	// instNotes say which generic functions were checked on an
	// instantiation the checker made itself.
	instNotes []string
}

func (c *checker) run(patterns []string) error {
	list, err := listPackages(c.ctx, c.dir, patterns)
	if err != nil {
		return err
	}
	var matched []*pkgInfo
	for _, p := range list {
		c.pkgs[p.ImportPath] = p
		if !p.DepOnly && !p.Standard {
			matched = append(matched, p)
		}
	}
	var errs []string
	var roots []*srcFunc
	marked := map[string]bool{}
	generic := false
	for _, p := range matched {
		sp := c.read(p)
		errs = append(errs, sp.errs...)
		for _, f := range sp.funcs {
			if f.NoAlloc || c.opts.AllFunctions && !f.Bodyless {
				roots = append(roots, f)
				marked[p.ImportPath] = true
				generic = generic || f.Generic
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("bad zerogc directives:\n%s", strings.Join(errs, "\n"))
	}
	if len(roots) == 0 {
		c.report.Notes = append(c.report.Notes, "no function is marked //zerogc:noalloc in "+strings.Join(patterns, " "))
		return nil
	}
	// The marked packages, and for generic functions (compiled where they
	// are instantiated) the fewest matched packages that hold every
	// instantiation the program uses.
	var first []string
	for _, p := range matched {
		if marked[p.ImportPath] {
			first = append(first, p.ImportPath)
		}
	}
	var have map[string]bool
	if generic {
		extra, h, err := c.instantiators(matched, marked, roots)
		if err == nil {
			// The normal build of first and its dependencies is done.
			first = append(first, extra...)
			have = h
		} else {
			// Without the objects' symbols, compile every matched
			// package that imports a marked one.
			if debug {
				fmt.Fprintf(os.Stderr, "zerogc check: %v; compiling every importer of a marked package\n", err)
			}
			first = first[:0]
			for _, p := range matched {
				if marked[p.ImportPath] || slices.ContainsFunc(p.Deps, func(d string) bool { return marked[d] }) {
					first = append(first, p.ImportPath)
				}
			}
		}
	}
	if have == nil && len(first) > 1 {
		// first is compiled by one go command per package: build their
		// dependencies once, normally, before (build-cache hits after "go
		// build" or "go run").
		if _, err := exportFiles(c.ctx, c.dir, first); err != nil {
			return err
		}
	}
	if have == nil {
		// Which generic functions are instantiated is read from the
		// listing.
		if err := c.compile(first); err != nil {
			return err
		}
		first = nil
		have = map[string]bool{}
		for sym := range c.out.funcs {
			have[canonical(sym)] = true
		}
	}
	// The checker's own instantiations are compiled in the same go command
	// as the first packages.
	if err := c.instantiate(roots, have, first); err != nil {
		return err
	}
	defer func() { c.report.Notes = append(c.report.Notes, c.instNotes...) }()
	for {
		need := map[string]bool{}
		c.report.Roots = c.report.Roots[:0]
		c.report.Notes = c.report.Notes[:0]
		for _, f := range roots {
			c.report.Roots = append(c.report.Roots, c.checkRoot(f, need))
		}
		if len(need) == 0 {
			return nil
		}
		var next []string
		for p := range need {
			next = append(next, p)
		}
		sort.Strings(next)
		if err := c.compile(next); err != nil {
			return err
		}
	}
}

// read parses a package's source once and indexes its functions and
// allow directives.
func (c *checker) read(p *pkgInfo) *srcPkg {
	if sp, ok := c.src[p.ImportPath]; ok {
		return sp
	}
	sp := readPackage(p)
	c.src[p.ImportPath] = sp
	for _, f := range sp.funcs {
		c.byFile[f.At.File] = append(c.byFile[f.At.File], f)
	}
	for at, r := range sp.allows {
		c.allows[at] = r
	}
	return sp
}

func (c *checker) compile(pkgs []string) error {
	return c.compileWith("", pkgs, nil)
}

// compileWith compiles pkgs and the packages inst, which exist only in
// overlay, with the listing. Each package of pkgs is compiled by its own go
// command (up to maxJobs of them), and they run concurrently: in one go command a package would
// wait for the listing compiles of the packages it imports, although its
// code does not depend on them (they differ from the normal build only in
// what the compiler prints); alone, it is compiled against the normal
// build of its imports, which the build cache holds.
func (c *checker) compileWith(overlay string, pkgs, inst []string) error {
	type job struct {
		overlay string
		pkgs    []string
		out     []byte
		err     error
	}
	// Each go command costs a load of the package graph: past maxJobs,
	// packages share them.
	const maxJobs = 8
	jobs := make([]*job, min(len(pkgs), maxJobs), maxJobs+1)
	for i, p := range pkgs {
		if jobs[i%maxJobs] == nil {
			jobs[i%maxJobs] = new(job)
		}
		jobs[i%maxJobs].pkgs = append(jobs[i%maxJobs].pkgs, p)
	}
	if len(inst) > 0 {
		jobs = append(jobs, &job{overlay: overlay, pkgs: inst})
	}
	sem := make(chan struct{}, max(2, runtime.NumCPU()))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			j.out, j.err = compile(c.ctx, c.dir, j.overlay, j.pkgs)
		})
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			if j.overlay != "" {
				return fmt.Errorf("compiling the checker's instantiations of generic functions: %v", j.err)
			}
			return j.err
		}
		c.out.parse(j.out, c.dir)
	}
	for _, p := range pkgs {
		c.compiled[p] = true
		if info := c.pkgs[p]; info != nil {
			sp := c.read(info)
			if len(sp.errs) > 0 && !info.Standard {
				return fmt.Errorf("bad zerogc directives:\n%s", strings.Join(sp.errs, "\n"))
			}
		}
	}
	return nil
}

// pkgOf returns the package a symbol belongs to: the longest import path
// of the build that prefixes it up to a dot.
func (c *checker) pkgOf(sym string) string {
	canon := canonical(sym)
	best := ""
	for i := 0; i < len(canon); i++ {
		if canon[i] == '.' {
			if _, ok := c.pkgs[canon[:i]]; ok {
				best = canon[:i]
			}
		}
	}
	if best == "" && strings.HasPrefix(canon, "runtime.") {
		// Packages that import nothing do not list the runtime among
		// their dependencies, but their code calls it (morestack).
		best = "runtime"
	}
	return best
}

// display shortens a symbol for people: the package path becomes the
// package name and long type arguments are elided.
func (c *checker) display(sym string) string {
	if p := c.pkgOf(sym); p != "" {
		name := p[strings.LastIndexByte(p, '/')+1:]
		if info := c.pkgs[p]; info != nil && info.Name != "" {
			name = info.Name
		}
		sym = name + sym[len(p):]
	}
	var b strings.Builder
	depth, start := 0, 0
	for i, r := range sym {
		switch r {
		case '[':
			if depth == 0 {
				start = i
			}
			depth++
		case ']':
			depth--
			if depth == 0 {
				if i-start > 40 {
					b.WriteString("[…]")
				} else {
					b.WriteString(sym[start : i+1])
				}
				continue
			}
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// rel returns a position for printing: relative to the checked directory
// when it lies under it.
func (c *checker) rel(p pos) string {
	if r, err := filepath.Rel(c.dir, p.File); err == nil && !strings.HasPrefix(r, "..") {
		return fmt.Sprintf("%s:%d", r, p.Line)
	}
	return p.String()
}

type visit struct {
	sym   string
	chain []Frame
}

// checkRoot walks the calls of one marked function breadth first, so each
// finding carries the shortest chain that reaches it. Symbols of packages
// not compiled yet are added to need, and the walk is repeated once they
// are.
func (c *checker) checkRoot(f *srcFunc, need map[string]bool) *Root {
	root := &Root{Func: c.display(f.Key), Pos: c.rel(f.At), Findings: []*Finding{}}
	for sym := range c.out.funcs {
		if canonical(sym) == f.Key {
			root.Symbols = append(root.Symbols, sym)
		}
	}
	sort.Strings(root.Symbols)
	if len(root.Symbols) == 0 {
		if f.Generic {
			c.report.Notes = append(c.report.Notes, fmt.Sprintf("%s: %s is generic and no checked package instantiates it; nothing was verified", root.Pos, root.Func))
		} else {
			root.Findings = append(root.Findings, &Finding{Kind: KindUnknown, Pos: root.Pos, Func: root.Func,
				What: "no compiled code found for " + root.Func})
		}
		return root
	}
	seen := map[string]bool{}
	dedup := map[string]bool{}
	queue := make([]visit, 0, len(root.Symbols))
	for _, s := range root.Symbols {
		seen[s] = true
		queue = append(queue, visit{sym: s})
	}
	add := func(fd *Finding) {
		// One finding per site and callee, whatever the instantiation.
		key := fd.Kind + fd.Pos + fd.What + canonical(fd.Func)
		if dedup[key] {
			return
		}
		dedup[key] = true
		if fd.Allow != "" {
			root.Allowed = append(root.Allowed, fd)
		} else {
			root.Findings = append(root.Findings, fd)
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		fn := c.out.funcs[v.sym]
		if fn == nil {
			c.leaf(v, need, add)
			continue
		}
		for _, call := range fn.Calls {
			inl := c.inlineChain(fn.Sym, call.At)
			allow := c.allowed(call.At, inl)
			base := Finding{Pos: c.rel(call.At), Func: c.display(fn.Sym), Chain: v.chain, Allow: allow}
			for _, p := range inl {
				base.Inlined = append(base.Inlined, c.rel(p))
			}
			if call.Target == "" {
				fd := base
				fd.Kind = KindIndirect
				fd.What = "call through an interface or a function value (CALL " + call.Reg + "): its target cannot be verified"
				add(&fd)
				continue
			}
			if what, ok := allocates(call.Target); ok {
				fd := base
				fd.Kind = KindAlloc
				fd.What = c.display(call.Target) + ": " + what
				fd.Compiler = c.reasons(fn.Sym, call.At)
				for i := 0; i < len(inl) && len(fd.Compiler) == 0; i++ {
					fd.Compiler = c.reasons(fn.Sym, inl[i])
				}
				add(&fd)
				continue
			}
			if what, ok := opaque[call.Target]; ok {
				fd := base
				fd.Kind = KindIndirect
				fd.What = c.display(call.Target) + ": " + what
				add(&fd)
				continue
			}
			if isLeafPackage(c.pkgOf(call.Target)) || seen[call.Target] {
				continue
			}
			if allow != "" {
				fd := base
				fd.Kind = "call"
				fd.What = "call of " + c.display(call.Target) + " not followed"
				add(&fd)
				continue
			}
			seen[call.Target] = true
			chain := append(slices.Clip(v.chain), Frame{Func: c.display(call.Target), Pos: c.rel(call.At)})
			queue = append(queue, visit{sym: call.Target, chain: chain})
		}
	}
	return root
}

// leaf handles a called symbol with no compiled code in the listings read
// so far: its package is compiled next round, or it is assembly or a
// function the runtime provides.
func (c *checker) leaf(v visit, need map[string]bool, add func(*Finding)) {
	p := c.pkgOf(v.sym)
	last := v.chain[len(v.chain)-1]
	unknown := func(what string) {
		add(&Finding{Kind: KindUnknown, Pos: last.Pos, Func: last.Func, Chain: v.chain[:len(v.chain)-1], What: what})
	}
	if p == "" {
		unknown("call of " + v.sym + ", a symbol of no package in the build: cannot be verified")
		return
	}
	if !c.compiled[p] {
		need[p] = true
		return
	}
	canon := canonical(v.sym)
	for _, f := range c.src[p].funcs {
		if f.Key == canon && f.Bodyless {
			return // assembly, or provided by the runtime through a linkname
		}
	}
	unknown("call of " + c.display(v.sym) + ": no compiled code found for it")
}

// allowed returns the reason of the //zerogc:allow that covers a call at
// at, or at one of the call sites that inlined it.
func (c *checker) allowed(at pos, inl []pos) string {
	if r, ok := c.allows[at]; ok {
		return r
	}
	for _, p := range inl {
		if r, ok := c.allows[p]; ok {
			return r
		}
	}
	return ""
}

// funcAt returns the declared function whose source holds at.
func (c *checker) funcAt(at pos) *srcFunc {
	fs, ok := c.byFile[at.File]
	if !ok {
		// Code inlined from a package whose calls were never followed:
		// read its source now.
		c.byFile[at.File] = nil
		dir := filepath.Dir(at.File)
		for _, p := range c.pkgs {
			if p.Dir == dir {
				c.read(p)
			}
		}
		fs = c.byFile[at.File]
	}
	for _, f := range fs {
		if at.Line >= f.At.Line && at.Line <= f.EndLine {
			return f
		}
	}
	return nil
}

// inlineChain reconstructs which inlined calls brought the code at at into
// the compiled function sym: the compiler's listing gives the innermost
// position only, and -m=2 says where it inlined what.
func (c *checker) inlineChain(sym string, at pos) []pos {
	owner := c.funcAt(at)
	if owner == nil {
		return nil
	}
	home := ownerFunc(canonical(sym))
	var chain []pos
	for depth := 0; depth < 16 && owner.Key != home; depth++ {
		var site *inlineSite
		for _, s := range c.out.inlines[lastName(owner.Name)] {
			if !calleeMatches(s.Callee, owner) {
				continue
			}
			in := c.funcAt(s.At)
			if in == nil || in == owner {
				continue
			}
			if site == nil || in.Key == home {
				site = s
			}
			if in.Key == home {
				break
			}
		}
		if site == nil {
			break
		}
		chain = append(chain, site.At)
		owner = c.funcAt(site.At)
	}
	return chain
}

// lastName returns the identifier a function name ends with.
func lastName(name string) string {
	name = canonical(name)
	return name[strings.LastIndexByte(name, '.')+1:]
}

// calleeMatches reports whether an "inlining call to X" names f.
func calleeMatches(callee string, f *srcFunc) bool {
	callee = canonical(callee)
	return callee == f.Name || strings.HasSuffix(callee, "."+f.Name) || strings.HasSuffix(f.Key, "/"+callee)
}

// reasons returns the escape decisions at at, with their explanations:
// those escape analysis made for the compiled function sym if it made any
// there, else every distinct decision at that line (code inlined from
// elsewhere, explained in the function it came from).
func (c *checker) reasons(sym string, at pos) []string {
	ds := c.out.decisions[at]
	var own []*decision
	for _, d := range ds {
		if d.Func != "" && strings.HasSuffix(sym, "."+d.Func) {
			own = append(own, d)
		}
	}
	if len(own) > 0 {
		ds = own
	}
	var rs []string
	seen := map[string]bool{}
	for _, d := range ds {
		key := fmt.Sprintf("%d %s", d.Col, d.Msg)
		if seen[key] {
			continue
		}
		seen[key] = true
		s := fmt.Sprintf("%s:%d: %s", c.rel(d.At), d.Col, d.Msg)
		if d.Func != "" {
			s += " (in " + d.Func + ")"
		}
		for _, l := range d.Chain {
			s += "\n" + l
		}
		rs = append(rs, s)
	}
	return rs
}

// instSubdir is the directory, under a marked package's, of the package
// the checker adds (through the go command's -overlay, never on disk) to
// instantiate marked generic functions that no checked package
// instantiates.
const instSubdir = "zerogc_noalloc_inst"

// instantiators chooses the matched packages, besides the marked ones,
// to compile for the instantiations of marked generic functions. Generic
// code is compiled in every package that instantiates it, as a symbol
// named by the shapes of its type arguments
// ("vtask.(*Core[go.shape.int]).SetResult"), and two packages holding the
// same symbol hold the same code (the linker keeps either copy). The
// normal build's object files (build-cache hits after "go build" or "go
// run") say which package holds which instantiations; the packages that
// hold one no chosen package holds are added greedily, most new symbols
// first. It also returns the canonical names of the marked generic
// functions instantiated in some matched package. The marked packages and
// every candidate are built normally on the way.
func (c *checker) instantiators(matched []*pkgInfo, marked map[string]bool, roots []*srcFunc) (extra []string, have map[string]bool, err error) {
	keys := map[string]bool{}
	genPkgs := map[string]bool{}
	for _, f := range roots {
		if f.Generic {
			keys[f.Key] = true
			genPkgs[f.Pkg] = true
		}
	}
	var cands []*pkgInfo
	for _, p := range matched {
		if marked[p.ImportPath] || slices.ContainsFunc(p.Deps, func(d string) bool { return genPkgs[d] }) {
			cands = append(cands, p)
		}
	}
	if len(cands) == 0 {
		return nil, map[string]bool{}, nil
	}
	paths := make([]string, len(cands))
	for i, p := range cands {
		paths[i] = p.ImportPath
	}
	files, err := exportFiles(c.ctx, c.dir, paths)
	if err != nil {
		return nil, nil, err
	}
	objs := make([]string, len(cands))
	for i, p := range paths {
		if objs[i] = files[p]; objs[i] == "" {
			return nil, nil, fmt.Errorf("go list -export: no export file for %s", p)
		}
	}
	have = map[string]bool{}
	holds := make([][]string, len(cands))
	for i := range cands {
		defs, err := definedFuncs(objs[i])
		if err != nil {
			return nil, nil, err
		}
		var shaped, plain []string
		for _, s := range defs {
			if !keys[canonical(s)] {
				continue
			}
			have[canonical(s)] = true
			if strings.Contains(s, "go.shape.") {
				shaped = append(shaped, s)
			} else {
				plain = append(plain, s)
			}
		}
		// The instantiations proper are the shaped symbols; the others
		// are dictionary and pointer wrappers calling them. A package
		// with wrappers only is covered by its own wrappers.
		holds[i] = shaped
		if len(shaped) == 0 {
			holds[i] = plain
		}
	}
	covered := map[string]bool{}
	for i, p := range paths {
		if marked[p] {
			for _, s := range holds[i] {
				covered[s] = true
			}
		}
	}
	for {
		best, most := -1, 0
		for i, p := range paths {
			if marked[p] || slices.Contains(extra, p) {
				continue
			}
			n := 0
			for _, s := range holds[i] {
				if !covered[s] {
					n++
				}
			}
			if n > most || n == most && n > 0 && len(cands[i].GoFiles) < len(cands[best].GoFiles) {
				best, most = i, n
			}
		}
		if best < 0 {
			return extra, have, nil
		}
		extra = append(extra, paths[best])
		for _, s := range holds[best] {
			covered[s] = true
		}
	}
}

// instantiate compiles, for every marked generic function not in have
// (which no checked package instantiates), an instantiation with int for
// each type parameter whose constraint allows it, so that its code is
// checked at least once. The packages with are compiled in the same go
// command.
func (c *checker) instantiate(roots []*srcFunc, have map[string]bool, with []string) error {
	srcs := map[string]*strings.Builder{}
	var order []string
	for _, f := range roots {
		if !f.Generic || have[f.Key] {
			continue
		}
		cons := f.Constraints
		if f.Recv != "" {
			cons = c.src[f.Pkg].typeParams[f.Recv]
		}
		ok := token.IsExported(f.Method) && (f.Recv == "" || token.IsExported(f.Recv))
		for _, k := range cons {
			ok = ok && (k == "any" || k == "interface{}" || k == "comparable")
		}
		if !ok {
			continue // checkRoot notes that nothing was verified
		}
		args := "[" + strings.TrimSuffix(strings.Repeat("int, ", len(cons)), ", ") + "]"
		expr := "p." + f.Method + args
		switch {
		case f.Recv != "" && f.Star:
			expr = "(*p." + f.Recv + args + ")." + f.Method
		case f.Recv != "":
			expr = "p." + f.Recv + args + "." + f.Method
		}
		b := srcs[f.Pkg]
		if b == nil {
			b = new(strings.Builder)
			fmt.Fprintf(b, "package zerogcinst\n\nimport p %q\n\n", f.Pkg)
			srcs[f.Pkg] = b
			order = append(order, f.Pkg)
		}
		fmt.Fprintf(b, "var _ = %s\n", expr)
		c.instNotes = append(c.instNotes, fmt.Sprintf("%s: %s is instantiated by no checked package; checked as %s", c.rel(f.At), c.display(f.Key), strings.TrimPrefix(expr, "p.")))
	}
	if len(order) == 0 {
		if len(with) == 0 {
			return nil
		}
		return c.compile(with)
	}
	tmp, err := os.MkdirTemp("", "zerogc-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	replace := map[string]string{}
	var pkgs []string
	for i, pkg := range order {
		file := filepath.Join(tmp, fmt.Sprintf("inst%d.go", i))
		if err := os.WriteFile(file, []byte(srcs[pkg].String()), 0o644); err != nil {
			return err
		}
		replace[filepath.Join(c.pkgs[pkg].Dir, instSubdir, "inst.go")] = file
		pkgs = append(pkgs, pkg+"/"+instSubdir)
	}
	overlay, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		return err
	}
	ov := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		return err
	}
	return c.compileWith(ov, with, pkgs)
}
