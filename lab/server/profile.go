package server

import (
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// Profile is the allocation profile of one request: the difference between
// two heap profiles taken around it with runtime.MemProfileRate = 1, so that
// every allocation is recorded.
type Profile struct {
	// Bytes and Objects are the totals over every site.
	Bytes   int64 `json:"bytes"`
	Objects int64 `json:"objects"`
	// Sites lists the allocation sites, most bytes first.
	Sites []Site `json:"sites"`
	// ExcludedBytes and ExcludedObjects are allocations in the window
	// that are not the request's, left out of Bytes, Objects and Sites:
	// sync.Pool re-creating the per-P arrays that the profiler's collection
	// dropped (on each pool's first use after it), and the runtime starting
	// an OS thread (for the collector, or when sysmon hands off a P). None
	// of these happens per request under load.
	ExcludedBytes   int64 `json:"excluded_bytes"`
	ExcludedObjects int64 `json:"excluded_objects"`
}

// Site is one place in the code that allocated during the request.
type Site struct {
	// Function, File and Line locate the allocation: the innermost frame
	// outside the runtime.
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Bytes    int64  `json:"bytes"`
	Objects  int64  `json:"objects"`
	// Stack is the call stack of the largest allocation at this site,
	// innermost first, as "function (file:line)", at most 8 frames.
	Stack []string `json:"stack"`
}

type profileSnapshot map[[32]uintptr]runtime.MemProfileRecord

// takeProfile runs a collection, which publishes every allocation made
// before the call in the profile (runtime.GC completes the sweep and
// publishes the cycle, as net/http/pprof relies on), and copies the profile.
func takeProfile() profileSnapshot {
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, _ := runtime.MemProfile(nil, true)
		recs = make([]runtime.MemProfileRecord, n+64)
		if n, ok := runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	snap := make(profileSnapshot, len(recs))
	for _, r := range recs {
		old := snap[r.Stack0]
		old.AllocBytes += r.AllocBytes
		old.AllocObjects += r.AllocObjects
		old.Stack0 = r.Stack0
		snap[r.Stack0] = old
	}
	return snap
}

// ownFrame marks the control channel's own code: allocations whose stack
// passes through it are the measurement's, not the request's.
const ownFrame = "lab/server.(*control)"

// diffProfiles returns the allocations recorded in after but not in before,
// grouped by site, leaving out the measurement's own allocations.
func diffProfiles(before, after profileSnapshot) *Profile {
	type acc struct {
		site     Site
		maxBytes int64
	}
	sites := map[string]*acc{}
	p := &Profile{}
	for key, r := range after {
		b := r.AllocBytes - before[key].AllocBytes
		o := r.AllocObjects - before[key].AllocObjects
		if b <= 0 && o <= 0 {
			continue
		}
		frames := runtime.CallersFrames(r.Stack())
		var stack []string
		var top runtime.Frame
		own, excluded := false, false
		var fallback runtime.Frame
		for {
			f, more := frames.Next()
			if strings.Contains(f.Function, ownFrame) {
				own = true
				break
			}
			if notRequest(f.Function) {
				excluded = true
			}
			if fallback.Function == "" && !isAllocFrame(f.Function) {
				fallback = f
			}
			if top.Function == "" && !isRuntimeFrame(f.Function) {
				top = f
			}
			if len(stack) < 8 {
				stack = append(stack, f.Function+" ("+shortFile(f.File)+":"+strconv.Itoa(f.Line)+")")
			}
			if !more {
				break
			}
		}
		if own {
			continue
		}
		if excluded {
			p.ExcludedBytes += b
			p.ExcludedObjects += o
			continue
		}
		if top.Function == "" {
			top = fallback
		}
		k := top.Function + ":" + strconv.Itoa(top.Line)
		a := sites[k]
		if a == nil {
			a = &acc{site: Site{Function: top.Function, File: shortFile(top.File), Line: top.Line}}
			sites[k] = a
		}
		a.site.Bytes += b
		a.site.Objects += o
		if b > a.maxBytes {
			a.maxBytes, a.site.Stack = b, stack
		}
		p.Bytes += b
		p.Objects += o
	}
	for _, a := range sites {
		p.Sites = append(p.Sites, a.site)
	}
	sort.Slice(p.Sites, func(i, j int) bool {
		if p.Sites[i].Bytes != p.Sites[j].Bytes {
			return p.Sites[i].Bytes > p.Sites[j].Bytes
		}
		return p.Sites[i].Function < p.Sites[j].Function
	})
	return p
}

// notRequest reports frames whose allocations are not the request's: the
// collector, sync.Pool's set-up after a collection, and OS thread creation
// (closures included: "runtime.gcMarkTermination.func3").
func notRequest(fn string) bool {
	if fn == "sync.(*Pool).pinSlow" {
		return true
	}
	for _, p := range []string{"runtime.gcMarkTermination", "runtime.gcStart", "runtime.gcBgMarkWorker", "runtime.GC", "runtime.newm"} {
		if fn == p || strings.HasPrefix(fn, p+".") {
			return true
		}
	}
	return false
}

// isAllocFrame reports the allocator's own entry points, which name no
// useful site.
func isAllocFrame(fn string) bool {
	for _, p := range []string{"runtime.malloc", "runtime.new", "runtime.make", "runtime.grow", "runtime.conv", "runtime.slicebyte", "runtime.systemstack"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

func isRuntimeFrame(fn string) bool {
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") || fn == ""
}

// shortFile trims a file path to its module-relative or GOROOT-relative
// part, so that no machine's directory layout shows in a report.
func shortFile(f string) string {
	if moduleRoot != "" && strings.HasPrefix(f, moduleRoot) {
		return f[len(moduleRoot):]
	}
	if i := strings.LastIndex(f, "/pkg/mod/"); i >= 0 {
		return f[i+len("/pkg/mod/"):]
	}
	if i := strings.LastIndex(f, "/src/"); i >= 0 {
		return f[i+len("/src/"):]
	}
	return f
}

// moduleRoot is the directory of this module's source, with a trailing
// slash, derived from this file's own path.
var moduleRoot = func() string {
	_, f, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	dir := f[:strings.LastIndexByte(f, '/')+1]
	if root, ok := strings.CutSuffix(dir, "lab/server/"); ok {
		return root
	}
	return ""
}()
