package server

import (
	"runtime"
	"strings"
	"testing"
)

func TestFrameClassifiers(t *testing.T) {
	for fn, want := range map[string]bool{
		"sync.(*Pool).pinSlow":               true,
		"runtime.gcMarkTermination.func3":    true,
		"runtime.gcMarkTermination":          true,
		"runtime.newm":                       true,
		"runtime.GC":                         true,
		"runtime.GCfoo":                      false,
		"net/http.readRequest":               false,
		"runtime.mallocgc":                   false,
		"runtime.gcMarkTerminationElsewhere": false,
	} {
		if got := notRequest(fn); got != want {
			t.Errorf("notRequest(%q) = %v, want %v", fn, got, want)
		}
	}
	for fn, want := range map[string]bool{"runtime.mallocgc": true, "runtime.newobject": true, "runtime.makeslice": true, "runtime.malg": false, "net/url.parse": false} {
		if got := isAllocFrame(fn); got != want {
			t.Errorf("isAllocFrame(%q) = %v, want %v", fn, got, want)
		}
	}
}

func TestShortFile(t *testing.T) {
	_, self, _, _ := runtime.Caller(0)
	if got := shortFile(self); got != "lab/server/profile_test.go" {
		t.Errorf("shortFile(this file) = %q", got)
	}
	for in, want := range map[string]string{
		"/home/u/go/pkg/mod/github.com/valyala/fasthttp@v1.78.0/server.go": "github.com/valyala/fasthttp@v1.78.0/server.go",
		"/usr/local/go/src/net/http/server.go":                             "net/http/server.go",
		"relative.go":                                                      "relative.go",
	} {
		if got := shortFile(in); got != want {
			t.Errorf("shortFile(%q) = %q, want %q", in, got, want)
		}
	}
}

var profileSink [][]byte

//go:noinline
func allocateForProfile(n int) {
	for range n {
		b := make([]byte, 4096)
		profileSink = append(profileSink, b)
	}
}

// diffProfiles sees exactly what was allocated between two snapshots, at
// the right site, and nothing from before.
func TestDiffProfiles(t *testing.T) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = old }()
	allocateForProfile(3) // before: must not show up
	before := takeProfile()
	allocateForProfile(5)
	p := diffProfiles(before, takeProfile())
	var site *Site
	for i := range p.Sites {
		if strings.HasSuffix(p.Sites[i].Function, ".allocateForProfile") && p.Sites[i].Bytes >= 4096 {
			site = &p.Sites[i] // the make line, not the append's growth
		}
	}
	if site == nil {
		t.Fatalf("allocation site missing from %+v", p.Sites)
	}
	if site.Objects != 5 || site.Bytes != 5*4096 || site.File != "lab/server/profile_test.go" {
		t.Fatalf("site = %+v, want 5 objects of 4096 B in lab/server/profile_test.go", *site)
	}
	var sum int64
	for _, s := range p.Sites {
		sum += s.Bytes
	}
	if sum != p.Bytes {
		t.Fatalf("sites sum to %d, total %d", sum, p.Bytes)
	}
	profileSink = nil
}
