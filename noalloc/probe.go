package noalloc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// The checker knows which runtime functions allocate by name (runtime.go),
// and a Go release may compile an allocation into a function it has never
// seen: go1.27 turned new(T) into runtime.mallocgcTinySC2 and its kin,
// which an earlier version of this list passed as clean. So before its
// first verdict with a toolchain, Check proves that toolchain's
// allocations visible: it checks a probe package whose every function
// allocates in one of the common ways, and refuses to run if any of them
// comes out clean.

// probeSource is the probe package: each marked function allocates.
const probeSource = `package probe

type T struct {
	a, b int
	p    *int
}

var (
	sinkP *int
	sinkT *T
	sinkS []byte
	sinkM map[int]int
	sinkI any
	sinkC chan int
	sinkF func() int
	n     = 3
)

//zerogc:noalloc
func NewInt() { sinkP = new(int) }

//zerogc:noalloc
func NewStruct() { sinkT = &T{a: n} }

//zerogc:noalloc
func MovedToHeap() int {
	x := n
	sinkP = &x
	return x
}

//zerogc:noalloc
func MakeSlice() { sinkS = make([]byte, n) }

//zerogc:noalloc
func Append() { sinkS = append(sinkS, byte(n)) }

//zerogc:noalloc
func MakeMap() { sinkM = make(map[int]int, n) }

//zerogc:noalloc
func MakeChan() { sinkC = make(chan int, n) }

//zerogc:noalloc
func Box() { sinkI = T{a: n} }

//zerogc:noalloc
func Closure() {
	x := n
	sinkF = func() int { x++; return x }
}
`

// probes holds, per toolchain (its GOVERSION), the verdict of the probe:
// nil when it passed, the refusal when it did not. A probe that could not
// run (a canceled context, a go command that failed) leaves no verdict, so
// the next check tries again. probeMu guards it and runs one probe at a
// time in a process (they share its directory).
var (
	probeMu sync.Mutex
	probes  = map[string]error{}
)

// probeToolchain returns nil if the checker sees every allocation of the
// probe package when it is built by the toolchain that builds dir, and an
// error that names the missed ones otherwise. A toolchain whose version the
// go command cannot name as a go.mod version (a development build) is not
// probed.
func probeToolchain(ctx context.Context, dir string) error {
	out, _, err := goCmd(ctx, dir, "env", "GOVERSION")
	if err != nil {
		// The check's own go commands fail too, with the error about
		// dir (a directory that is not there, a broken go.mod) that
		// the user needs.
		return nil
	}
	version := strings.TrimSpace(string(out))
	if !strings.HasPrefix(version, "go1.") || strings.ContainsAny(version, " -+") {
		return nil
	}
	probeMu.Lock()
	defer probeMu.Unlock()
	if verdict, ok := probes[version]; ok {
		return verdict
	}
	verdict, err := runProbe(ctx, version)
	if err != nil {
		return err
	}
	probes[version] = verdict
	return verdict
}

// runProbe checks the probe package with toolchain version (go1.x.y),
// which its go.mod requires, so that the go command switches to it as it
// does for dir's module. It returns the verdict (nil: every allocation
// found), or an error if the probe could not be checked.
func runProbe(ctx context.Context, version string) (verdict, err error) {
	// A stable directory per toolchain: a second process finds the
	// probe's compiler output in the build cache. The user cache
	// directory first, the temporary one where that is not writable.
	gomod := "module zerogcprobe\n\ngo " + strings.TrimPrefix(version, "go") + "\n"
	var bases []string
	if base, err := os.UserCacheDir(); err == nil {
		bases = append(bases, base)
	}
	bases = append(bases, os.TempDir())
	var dir string
	for _, base := range bases {
		d := filepath.Join(base, "zerogc-check-probe", version)
		if err = writeIfChanged(filepath.Join(d, "go.mod"), gomod); err == nil {
			err = writeIfChanged(filepath.Join(d, "probe.go"), probeSource)
		}
		if err == nil {
			dir = d
			break
		}
	}
	if dir == "" {
		return nil, fmt.Errorf("writing the allocation probe: %w", err)
	}
	rep, err := check(ctx, dir, []string{"."}, Options{}, false)
	if err != nil {
		return nil, fmt.Errorf("checking the allocation probe with %s: %w", version, err)
	}
	// Each probe function must come out with an allocation found, not
	// merely unverified.
	var missed []string
	for _, r := range rep.Roots {
		if !slices.ContainsFunc(r.Findings, func(f *Finding) bool { return f.Kind == KindAlloc }) {
			missed = append(missed, r.Func)
		}
	}
	if len(rep.Roots) == 0 {
		missed = append(missed, "every probe function (none was found)")
	}
	if len(missed) > 0 {
		return fmt.Errorf("zerogc check cannot prove anything with %s: it finds no allocation in %s, "+
			"which allocate, so this Go release allocates through a runtime function the checker "+
			"does not know (the list is in noalloc/runtime.go); run the noalloc corpus test "+
			"(GOTOOLCHAIN=%s go test ./noalloc) to see which, and report it",
			version, strings.Join(missed, ", "), version), nil
	}
	return nil, nil
}

// writeIfChanged writes content to path, creating its directory, unless
// the file already holds exactly that. It writes a temporary file and
// renames it, so that another process probing at the same time reads the
// old file or the new one, never a part.
func writeIfChanged(path, content string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".probe-*")
	if err != nil {
		return err
	}
	_, werr := f.WriteString(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
	}
	return werr
}
