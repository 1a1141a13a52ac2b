package tune

import (
	"os"
	"testing"
)

// TestIssue17_AllocLinesNoalloc: the noalloc sample has several heap
// marks (escape analysis) but allocates once, on the line of
// string(out): the measured per-line allocations say which.
func TestIssue17_AllocLinesNoalloc(t *testing.T) {
	code, err := os.ReadFile("_samples/noalloc.go")
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Options{})
	res := mustRun(t, r, Request{Code: string(code), Input: "100000"}, nil)
	if res.Error != "" || res.Alloc == nil {
		t.Fatalf("run: %s", res.Error)
	}
	ret := lineOf(t, string(code), "return string(out)")
	heap := map[int]bool{}
	for _, d := range res.Escapes {
		if d.Kind == "heap" {
			heap[d.Line] = true
		}
	}
	if len(res.Alloc.Lines) != 1 || res.Alloc.Lines[0].Line != ret || res.Alloc.Lines[0].Objects != 1 || res.Alloc.Lines[0].Funcs[0] != "Run" {
		t.Fatalf("lines that allocated: %+v; want only line %d (string(out)), one object, in Run", res.Alloc.Lines, ret)
	}
	idle := 0
	for l := range heap {
		if l != ret {
			idle++
		}
	}
	if idle == 0 {
		t.Errorf("no heap mark on a line that allocated nothing (heap marks on %v): the sample is meant to show one", heap)
	}
}

func TestAllocLinesSums(t *testing.T) {
	got := allocLines([]Site{
		{Func: "Run", Line: 7, Bytes: 100, Objects: 2},
		{Func: "Run", Line: 3, Via: "fmt.Sprintf", Bytes: 16, Objects: 1},
		{Func: "Run", Line: 7, Via: "strconv.Itoa", Bytes: 8, Objects: 1},
		{Func: "Run.func1", Line: 7, Bytes: 8, Objects: 1},
	}, []LineAlloc{{Line: 9, Bytes: 24, Objects: 3}})
	if len(got) != 3 || got[0].Line != 3 || got[1].Line != 7 || got[2].Line != 9 || got[2].Bytes != 0 || got[2].UnderBytes != 24 || got[2].UnderObjects != 3 || got[1].Bytes != 116 || got[1].Objects != 4 ||
		len(got[1].Funcs) != 2 || len(got[1].Via) != 1 || got[0].Via[0] != "fmt.Sprintf" {
		t.Errorf("allocLines = %+v", got)
	}
}

// TestIssue17_AllocLinesThroughCalls: in the escape sample, label is
// inlined into Run's loop, so the compiler reports the escapes of its
// fmt.Sprintf arguments at the call in Run, while the heap profile puts
// the allocations on label's line; the call's line reads as allocating
// under it, not as allocating nothing.
func TestIssue17_AllocLinesThroughCalls(t *testing.T) {
	code, err := os.ReadFile("_samples/escape.go")
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, Options{})
	res := mustRun(t, r, Request{Code: string(code), Input: "1000"}, nil)
	if res.Error != "" || res.Alloc == nil {
		t.Fatalf("run: %s", res.Error)
	}
	call := lineOf(t, string(code), "last = label(p)")
	sprintf := lineOf(t, string(code), "return fmt.Sprintf")
	by := map[int]LineAlloc{}
	for _, l := range res.Alloc.Lines {
		by[l.Line] = l
	}
	var heap []int
	for _, d := range res.Escapes {
		if d.Kind == "heap" || d.Kind == "moved" {
			heap = append(heap, d.Line)
		}
	}
	t.Logf("heap decisions on lines %v; lines %+v", heap, res.Alloc.Lines)
	if c := by[call]; c.UnderBytes < by[sprintf].Bytes || by[sprintf].Bytes == 0 {
		t.Errorf("line %d (the call) has %d bytes allocated under it, line %d (fmt.Sprintf) %d; want the call to carry the callee's", call, c.UnderBytes, sprintf, by[sprintf].Bytes)
	}
}
