package tune

import (
	"strings"
	"testing"
)

const marksSnippet = `package main

func Get(xs []int, i int) int {
	return xs[i]
}

func Sum(xs []int) int {
	s := 0
	for i := range xs {
		s += xs[i]
	}
	return s
}

func Window(xs []int, i, j int) []int {
	return xs[i:j]
}

func Big(input string) int {
	n := 0
	for i := 0; i < len(input); i++ {
		switch input[i] {
		case 'a':
			n += 1
		case 'b':
			n += 2
		case 'c':
			n += 3
		case 'd':
			n *= 4
		case 'e':
			n -= 5
		default:
			for j := 0; j < i; j++ {
				n ^= j * int(input[j])
			}
		}
	}
	return n + Get([]int{1, 2, 3}, n&1) + Sum(Window([]int{4, 5, 6}, 0, n&1+1))
}

//go:noinline
func Pinned() int { return 1 }
`

// TestIssue17_BoundsChecksAndInlining is issue 17 point 4 on the API: the
// bounds checks the compiler kept are reported on their lines (not the
// one it proved away in Sum's range loop), and each function's inlining
// verdict with its cost or reason.
func TestIssue17_BoundsChecksAndInlining(t *testing.T) {
	srv := startServer(t, Options{})
	code, res, msg := postRun(t, srv, Request{Code: marksSnippet, Input: "abcz"})
	if code != 200 || res.Error != "" {
		t.Fatalf("status %d %s; result error %q\n%s", code, msg, errOf(res), outOf(res))
	}
	has := func(line int, kind string) bool {
		for _, b := range res.BoundsChecks {
			if b.Line == line && b.Kind == kind {
				return true
			}
		}
		return false
	}
	if !has(lineOf(t, marksSnippet, "return xs[i]"), "index") {
		t.Errorf("no index check on xs[i] in Get: %+v", res.BoundsChecks)
	}
	if !has(lineOf(t, marksSnippet, "return xs[i:j]"), "slice") {
		t.Errorf("no slice check on xs[i:j] in Window: %+v", res.BoundsChecks)
	}
	if has(lineOf(t, marksSnippet, "s += xs[i]"), "index") {
		t.Errorf("a bounds check reported in Sum's range loop, which the compiler proves away: %+v", res.BoundsChecks)
	}
	for _, d := range res.Escapes {
		if strings.HasPrefix(d.Message, "Found Is") {
			t.Errorf("a bounds check among the escape decisions: %+v", d)
		}
	}
	inl := map[string]Inlining{}
	for _, in := range res.Inlining {
		inl[in.Func] = in
	}
	if g := inl["Get"]; !g.CanInline || g.Cost <= 0 || g.Line != lineOf(t, marksSnippet, "func Get") {
		t.Errorf("Get: %+v, want inlinable with a cost, on its line", g)
	}
	if b := inl["Big"]; b.CanInline || b.Cost <= b.Budget || b.Budget <= 0 || !strings.Contains(b.Reason, "exceeds budget") {
		t.Errorf("Big: %+v, want too complex with cost > budget", b)
	}
	if p := inl["Pinned"]; p.CanInline || !strings.Contains(p.Reason, "go:noinline") || p.Line != lineOf(t, marksSnippet, "func Pinned") {
		t.Errorf("Pinned: %+v, want cannot inline: marked go:noinline", p)
	}
}

func TestParseBoundsChecks(t *testing.T) {
	out := "# tuneexp/snippet\nsnippet.go:4:11: Found IsInBounds\nsnippet.go:4:11: Found IsInBounds\n" +
		"snippet.go:9:11: Found IsSliceInBounds\n/usr/local/go/src/fmt/print.go:9:1: Found IsInBounds\nsnippet.go:3:6: can inline Get with cost 4 as: func([]int, int) int { return xs[i] }\n"
	got := parseBoundsChecks(out)
	want := []BoundsCheck{{4, 11, "index"}, {9, 11, "slice"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if ds := parseEscapes(out); len(ds) != 1 || ds[0].Kind != "inline" {
		t.Errorf("escapes %+v, want the one inlining decision", ds)
	}
}
