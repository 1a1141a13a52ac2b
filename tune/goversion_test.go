package tune

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// otherGo is the Go release the tests run snippets on besides the
// installed one (the project's second toolchain).
const otherGo = "go1.27.3"

// needToolchain fetches otherGo the way tune does, or skips the test
// with the reason where the module proxy is out of reach; under CI=true
// it must be reachable.
func needToolchain(t *testing.T, r *Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolchainTimeout)
	defer cancel()
	if _, err := r.toolchain(ctx, otherGo, nil2); err != nil {
		if os.Getenv("CI") == "true" || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("fetching %s: %v", otherGo, err)
		}
		t.Skipf("skipping: %v", err)
	}
}

func nil2(Event) {}

// TestIssue17_RunOnAnotherGo runs the same snippet on the installed Go
// and on go1.27.3: each result names its toolchain, and both have the
// assembly and escape decisions of the snippet.
func TestIssue17_RunOnAnotherGo(t *testing.T) {
	r := newRunner(t, Options{})
	needToolchain(t, r)
	code := "package main\n\nfunc Run(s string) int {\n\tb := make([]byte, len(s))\n\treturn len(b)\n}\n"
	var statuses []string
	a := mustRun(t, r, Request{Code: code, Input: "abc"}, nil)
	b := mustRun(t, r, Request{Code: code, Input: "abc", Go: otherGo}, func(ev Event) {
		if ev.Type == "status" {
			statuses = append(statuses, ev.Status)
		}
	})
	for _, res := range []*Result{a, b} {
		if res.Error != "" || len(res.Results) != 1 || res.Results[0] != "3" || len(res.Assembly) == 0 || len(res.Escapes) == 0 {
			t.Fatalf("%s: error %q, results %v, %d functions of assembly, %d decisions", res.GoVersion, res.Error, res.Results, len(res.Assembly), len(res.Escapes))
		}
	}
	installed, _ := exec.Command("go", "env", "GOVERSION").Output()
	if a.GoVersion != strings.TrimSpace(string(installed)) || b.GoVersion != otherGo {
		t.Errorf("toolchains: %q and %q, want the installed %s and %s", a.GoVersion, b.GoVersion, installed, otherGo)
	}
	if r.env.version != a.GoVersion {
		t.Errorf("after the run on %s the runner uses %s", otherGo, r.env.version)
	}
	t.Logf("statuses of the run on %s: %q", otherGo, statuses)

	// The SSA tab on the other release too.
	ssa, err := r.SSA(context.Background(), SSARequest{Code: code, Go: otherGo}, nil)
	if err != nil || ssa.Error != "" || ssa.GoVersion != otherGo || len(ssa.Passes) < 20 {
		t.Fatalf("SSA on %s: %v %+v", otherGo, err, ssa)
	}
}

// TestIssue17_GoVersionErrors: a malformed version, a release that does
// not exist and an unreachable proxy each get a clear error.
func TestIssue17_GoVersionErrors(t *testing.T) {
	r := newRunner(t, Options{})
	code := "package main\n\nfunc Run(s string) int { return len(s) }\n"
	if _, err := r.Run(context.Background(), Request{Code: code, Go: "1.27"}, nil); err == nil || !strings.Contains(err.Error(), `unknown Go version "1.27"`) {
		t.Errorf("malformed version: %v", err)
	}
	// An unreachable proxy: a release that is not in the module cache,
	// fetched through a port nobody listens on.
	t.Setenv("GOPROXY", "http://127.0.0.1:9")
	t.Setenv("GOSUMDB", "off")
	start := time.Now()
	var statuses []string
	_, err := r.Run(context.Background(), Request{Code: code, Go: "go1.21.1"}, func(ev Event) { statuses = append(statuses, ev.Status) })
	if err == nil || !strings.Contains(err.Error(), "module proxy is unreachable") {
		t.Errorf("unreachable proxy (after %v): %v", time.Since(start), err)
	}
	if len(statuses) == 0 || statuses[0] != "fetching go1.21.1" {
		t.Errorf("statuses while fetching: %q, want \"fetching go1.21.1\" first", statuses)
	}
	// A release that does not exist, asked of the real proxy.
	os.Unsetenv("GOPROXY")
	t.Setenv("GOPROXY", "https://proxy.golang.org")
	_, err = r.Run(context.Background(), Request{Code: code, Go: "go1.99.0"}, nil)
	switch {
	case err != nil && strings.Contains(err.Error(), "unreachable") && os.Getenv("CI") != "true":
		t.Skipf("skipping the unknown-release case: %v", err)
	case err == nil || !strings.Contains(err.Error(), `unknown Go version "go1.99.0"`):
		t.Errorf("unknown release: %v", err)
	}
}

// TestParseAssemblyGo127Header: go1.27 prints align= before args= in a
// function's header line.
func TestParseAssemblyGo127Header(t *testing.T) {
	out := "# tuneexp/snippet\ntuneexp/snippet.Sum STEXT nosplit size=27 align=0x0 args=0x18 locals=0x0 funcid=0x0\n" +
		"\t0x0000 00000 (snippet.go:3)\tTEXT\ttuneexp/snippet.Sum(SB), NOSPLIT|NOFRAME|ABIInternal, $0-24\n" +
		"\t0x0000 00000 (snippet.go:3)\tMOVQ\tAX, tuneexp/snippet.xs+8(FP)\n"
	fs := parseAssembly(out, "package main\n\nfunc Sum(xs []int) int {\n")
	if len(fs) != 1 || fs[0].Name != "Sum" || fs[0].Size != 27 || fs[0].Args != "0x18" {
		t.Errorf("parseAssembly = %+v", fs)
	}
}
