package tune

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const ssaSnippet = `package main

import "fmt"

func Sum(xs []int) int {
	s := 0
	for i := range xs {
		s += xs[i]
	}
	return s
}

type T struct{ n int }

func (t *T) Inc() { t.n++ }

func Run(input string) string {
	xs := make([]int, len(input))
	return fmt.Sprint(Sum(xs))
}
`

// TestIssue17_SSAPasses asks for the SSA of the entry function: the
// passes come in the compiler's order, from "build" to "genssa", some of
// them changed the function and some did not, and the text is in the
// snippet's terms. The standard library is not rebuilt (GOSSAFUNC would):
// a second request takes about as long as compiling the snippet.
func TestIssue17_SSAPasses(t *testing.T) {
	r := newRunner(t, Options{})
	ctx := context.Background()
	res, err := r.SSA(ctx, SSARequest{Code: ssaSnippet}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != "" {
		t.Fatalf("SSA: %s\n%s", res.Error, res.BuildOutput)
	}
	if res.Func != "Run" || len(res.Passes) < 20 {
		t.Fatalf("SSA of %q: %d passes, want Run (the entry) with the compiler's passes", res.Func, len(res.Passes))
	}
	first, lastPass := res.Passes[0], res.Passes[len(res.Passes)-1]
	if first.Name != "build" || !first.Changed || lastPass.Name != "genssa" {
		t.Errorf("passes run from %q (changed %v) to %q, want build (changed) to genssa", first.Name, first.Changed, lastPass.Name)
	}
	names := map[string]SSAPass{}
	unchanged := 0
	for _, p := range res.Passes {
		names[p.Name] = p
		if !p.Changed {
			unchanged++
		}
	}
	for _, n := range []string{"opt", "prove", "lower", "regalloc", "early phielim and copyelim"} {
		if _, ok := names[n]; !ok {
			t.Errorf("no pass %q among %d", n, len(res.Passes))
		}
	}
	if res.Changed < 5 || unchanged < 5 || res.Changed+unchanged != len(res.Passes) {
		t.Errorf("%d passes changed the function and %d did not, of %d; want both kinds", res.Changed, unchanged, len(res.Passes))
	}
	if !strings.HasPrefix(first.Text, "Run func(string) string") || !strings.Contains(names["lower"].Text, "CALL") && !strings.Contains(names["lower"].Text, "runtime.makeslice") {
		t.Errorf("build pass text:\n%.400s", first.Text)
	}
	if strings.Contains(lastPass.Text, "zerogc-tune-") || !strings.Contains(lastPass.Text, "snippet.go:") {
		t.Errorf("genssa text has temporary paths or no snippet.go position:\n%.600s", lastPass.Text)
	}
	if got := strings.Join(res.Funcs, " "); got != "Sum (*T).Inc Run" {
		t.Errorf("funcs = %q", got)
	}

	// Again, for a method: the same code, so only the nonce forces the
	// compile; the standard library comes from the cache.
	start := time.Now()
	res2, err := r.SSA(ctx, SSARequest{Code: ssaSnippet, Func: "(*T).Inc"}, nil)
	took := time.Since(start)
	if err != nil || res2.Error != "" || len(res2.Passes) < 10 {
		t.Fatalf("SSA of (*T).Inc: %v %+v", err, res2)
	}
	if !strings.HasPrefix(res2.Passes[0].Text, "(*T).Inc") {
		t.Errorf("(*T).Inc's first pass:\n%.300s", res2.Passes[0].Text)
	}
	t.Logf("SSA of (*T).Inc: %d passes, build %.0f ms, request %v", len(res2.Passes), res2.BuildMs, took)
	if took > 15*time.Second {
		t.Errorf("a second SSA request took %v: the standard library seems to be rebuilt", took)
	}

	// Debug: -N -l, so fewer passes run.
	dbg, err := r.SSA(ctx, SSARequest{Code: ssaSnippet, Func: "Sum", Mode: "debug"}, nil)
	if err != nil || dbg.Error != "" || len(dbg.Passes) == 0 || len(dbg.Passes) >= len(res.Passes) {
		t.Errorf("Debug SSA of Sum: %v, %d passes (release Run had %d)", err, len(dbg.Passes), len(res.Passes))
	}
}

// TestIssue17_SSABadInput: an unknown function, an unknown mode and a
// snippet that does not compile each get a clear answer.
func TestIssue17_SSABadInput(t *testing.T) {
	r := newRunner(t, Options{})
	ctx := context.Background()
	_, err := r.SSA(ctx, SSARequest{Code: ssaSnippet, Func: "Nope"}, nil)
	if err == nil || !strings.Contains(err.Error(), `unknown function "Nope"`) || !strings.Contains(err.Error(), "Sum, (*T).Inc, Run") {
		t.Errorf("unknown function: %v", err)
	}
	if _, err := r.SSA(ctx, SSARequest{Code: ssaSnippet, Mode: "fast"}, nil); err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := r.SSA(ctx, SSARequest{Code: ssaSnippet, Go: "go1.x"}, nil); err == nil || !strings.Contains(err.Error(), "unknown Go version") {
		t.Errorf("bad Go version: %v", err)
	}
	res, err := r.SSA(ctx, SSARequest{Code: "package main\n\nfunc Run(s string) int {\n\treturn undefinedName\n}\n"}, nil)
	if err != nil || len(res.CompileErrors) != 1 || res.CompileErrors[0].Line != 4 {
		t.Errorf("compile error: %v %+v", err, res)
	}
	// A closure of a declared function is accepted.
	res, err = r.SSA(ctx, SSARequest{Code: "package main\n\nfunc Run(s string) func() int {\n\treturn func() int { return len(s) }\n}\n", Func: "Run.func1"}, nil)
	if err != nil || res.Error != "" || len(res.Passes) == 0 {
		t.Errorf("closure Run.func1: %v %+v", err, res)
	}
}

// TestIssue17_SSAEndpoint: POST /api/ssa needs the token and JSON, and
// answers an unknown function with 400 and the reason.
func TestIssue17_SSAEndpoint(t *testing.T) {
	srv := startServer(t, Options{})
	post := func(token, ct, body string) (int, string) {
		req, _ := http.NewRequest("POST", base(srv)+"/api/ssa", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if token != "" {
			req.Header.Set("X-Tune-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	body, _ := json.Marshal(SSARequest{Code: ssaSnippet, Func: "Sum"})
	if code, _ := post("", "application/json", string(body)); code != 403 {
		t.Errorf("without the token: %d, want 403", code)
	}
	if code, _ := post(srv.Token(), "text/plain", string(body)); code != 415 {
		t.Errorf("not JSON: %d, want 415", code)
	}
	if code, msg := post(srv.Token(), "application/json", `{"code": "package main", "fn": "x"}`); code != 400 || !strings.Contains(msg, "not an SSA request") {
		t.Errorf("unknown field: %d %s", code, msg)
	}
	bad, _ := json.Marshal(SSARequest{Code: ssaSnippet, Func: "Missing"})
	if code, msg := post(srv.Token(), "application/json", string(bad)); code != 400 || !strings.Contains(msg, `unknown function \"Missing\"`) {
		t.Errorf("unknown function: %d %s", code, msg)
	}
	code, msg := post(srv.Token(), "application/json", string(body))
	var res SSAResult
	if err := json.Unmarshal([]byte(msg), &res); code != 200 || err != nil || res.Func != "Sum" || len(res.Passes) < 20 {
		t.Errorf("SSA of Sum: %d %v %.300s", code, err, msg)
	}
}
