package tune

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestKnobsCheck(t *testing.T) {
	o := Options{MemoryLimit: 512 << 20, MaxProcs: 256}
	good := []struct {
		in   Knobs
		want Knobs
	}{
		{Knobs{GOGC: "OFF"}, Knobs{GOGC: "off"}},
		{Knobs{GOGC: " 50 "}, Knobs{GOGC: "50"}},
		{Knobs{GOMEMLIMIT: "64MiB"}, Knobs{GOMEMLIMIT: "67108864"}},
		{Knobs{GOMEMLIMIT: "2097152"}, Knobs{GOMEMLIMIT: "2097152"}},
		{Knobs{GOMAXPROCS: 1}, Knobs{GOMAXPROCS: 1}},
		{Knobs{GODEBUG: "madvdontneed=1, gcshrinkstackoff=1"}, Knobs{GODEBUG: "madvdontneed=1,gcshrinkstackoff=1"}},
		{Knobs{GCFlags: "-B  -smallframes"}, Knobs{GCFlags: "-B -smallframes"}},
	}
	for _, g := range good {
		got, err := g.in.check(o)
		if err != nil || got != g.want {
			t.Errorf("check(%+v) = %+v, %v; want %+v", g.in, got, err, g.want)
		}
	}
	bad := []struct {
		in   Knobs
		want string // in the error
	}{
		{Knobs{GOGC: "abc"}, `knob GOGC "abc": give "off" or a percentage`},
		{Knobs{GOGC: "-5"}, "knob GOGC"},
		{Knobs{GOGC: "2000000"}, "from 0 to 1000000"},
		{Knobs{GOMEMLIMIT: "1GiB"}, "over the run's memory limit of 512 MiB"},
		{Knobs{GOMEMLIMIT: "64MB"}, "optional unit B, KiB, MiB, GiB or TiB"},
		{Knobs{GOMEMLIMIT: "1000"}, "under 1 MiB"},
		{Knobs{GOMEMLIMIT: "99999999999999999999"}, "out of range"},
		{Knobs{GOMAXPROCS: -1}, "give 1 to 256"},
		{Knobs{GOMAXPROCS: 200}, "give at most 128"},
		{Knobs{GODEBUG: "gctrace=0"}, "gctrace is tune's own"},
		{Knobs{GODEBUG: "madvdontneed"}, "not a name=value setting"},
		{Knobs{GODEBUG: "a=b c"}, "not a name=value setting"},
		{Knobs{GODEBUG: "a=$(id)"}, "not a name=value setting"},
		{Knobs{GODEBUG: strings.Repeat("a=1,", 200)}, "the limit is 512"},
		{Knobs{GCFlags: "-importcfg=/etc/passwd"}, `"-importcfg=/etc/passwd" is not allowed`},
		{Knobs{GCFlags: "-trimpath=/home"}, "is not allowed"},
		{Knobs{GCFlags: "-N -o /tmp/x"}, `"-o" is not allowed`},
		{Knobs{GCFlags: "-race"}, "is not allowed"},
		{Knobs{GCFlags: "'-N'"}, "is not allowed"},
		{Knobs{GCFlags: "-d=ssa/check/on"}, "is not allowed"},
	}
	for _, b := range bad {
		_, err := b.in.check(o)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("check(%+v) = %v; want an error with %q", b.in, err, b.want)
		}
	}
}

// TestRunKnobs runs a snippet with every knob set: GOGC=off leaves only
// the collection tune forces, and the child reports the GOMAXPROCS, GOGC
// and GOMEMLIMIT it ran with; -B removes the bounds check the compiler
// otherwise keeps, so the index one past the end no longer panics.
func TestRunKnobs(t *testing.T) {
	r := newRunner(t, Options{})
	code := `package main

//go:noinline
func At(xs []int, i int) int { return xs[i] }

var keep [][]byte

func Run(s string) int {
	for i := 0; i < 2000; i++ {
		keep = append(keep[:0], make([]byte, 16<<10)) // 32 MB in all
	}
	return At([]int{1, 2, 3}, len(s))
}
`
	plain := mustRun(t, r, Request{Code: code, Input: "abc"}, nil)
	if plain.Runtime == nil || plain.Runtime.GOGC != 100 || plain.Knobs != nil {
		t.Fatalf("without knobs: runtime %+v, knobs %+v; want GOGC 100 and no knobs", plain.Runtime, plain.Knobs)
	}
	auto := 0
	for _, c := range plain.Cycles {
		if !c.Forced {
			auto++
		}
	}
	if auto == 0 || len(plain.BoundsChecks) == 0 || !strings.Contains(plain.Panic, "index out of range [3] with length 3") {
		t.Fatalf("without knobs: %d automatic cycles, %d bounds checks, panic %q; want some cycles and checks, and the index to panic", auto, len(plain.BoundsChecks), plain.Panic)
	}
	k := &Knobs{GOGC: "off", GOMEMLIMIT: "256MiB", GOMAXPROCS: 1, GODEBUG: "madvdontneed=1", GCFlags: "-B"}
	res := mustRun(t, r, Request{Code: code, Input: "abc", Knobs: k}, nil)
	if res.Error != "" || res.Panic != "" {
		t.Fatalf("run with knobs (-B: no bounds check, so no panic): %s\n%s%s", res.Error, res.Panic, res.Stderr)
	}
	for _, c := range res.Cycles {
		if !c.Forced {
			t.Errorf("GOGC=off: automatic cycle %+v", c)
		}
	}
	if res.Alloc == nil || res.Alloc.GCs != 0 || !res.CyclesComplete {
		t.Errorf("GOGC=off: alloc %+v, cycles complete %v; want no collection during the call", res.Alloc, res.CyclesComplete)
	}
	want := RuntimeSettings{GOMAXPROCS: 1, GOGC: -1, GOMEMLIMIT: 256 << 20}
	if got := res.Runtime; got == nil || got.GOMAXPROCS != want.GOMAXPROCS || got.GOGC != want.GOGC || got.GOMEMLIMIT != want.GOMEMLIMIT {
		t.Errorf("the child reports %+v; want %+v", got, want)
	}
	if res.Knobs == nil || *res.Knobs != (Knobs{GOGC: "off", GOMEMLIMIT: "268435456", GOMAXPROCS: 1, GODEBUG: "madvdontneed=1", GCFlags: "-B"}) {
		t.Errorf("knobs as applied: %+v", res.Knobs)
	}
	if len(res.BoundsChecks) != 0 {
		t.Errorf("-B: the compiler still reports bounds checks %+v", res.BoundsChecks)
	}
}

// TestServerKnobsRefused: a knob out of range is a 400 with the reason,
// before anything is built.
func TestServerKnobsRefused(t *testing.T) {
	srv := startServer(t, Options{})
	for _, c := range []struct {
		knobs map[string]any
		want  string
	}{
		{map[string]any{"gogc": "lots"}, `knob GOGC "lots"`},
		{map[string]any{"gcflags": "-importcfg=/etc/passwd"}, "knob gcflags"},
		{map[string]any{"gomaxprocs": 100000}, "knob GOMAXPROCS"},
		{map[string]any{"gomaxprocs": "two"}, `knob GOMAXPROCS "two": give a whole number`},
		{map[string]any{"gogcc": "50"}, `unknown field "gogcc"`},
	} {
		body, _ := json.Marshal(map[string]any{"code": "package main\n\nfunc Run(s string) int { return 0 }\n", "knobs": c.knobs})
		resp, err := sendRun(srv, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, c.want) {
			t.Errorf("knobs %v: %d %q; want 400 with %q", c.knobs, resp.StatusCode, e.Error, c.want)
		}
	}
}

func TestKnobsJSON(t *testing.T) {
	for in, want := range map[string]int{`{"gomaxprocs": 3}`: 3, `{"gomaxprocs": "4"}`: 4, `{"gomaxprocs": ""}`: 0, `{"gogc": "off"}`: 0} {
		var k Knobs
		if err := json.Unmarshal([]byte(in), &k); err != nil || k.GOMAXPROCS != want {
			t.Errorf("%s: GOMAXPROCS %d, %v; want %d", in, k.GOMAXPROCS, err, want)
		}
	}
	var k Knobs
	if err := json.Unmarshal([]byte(`{"gogc": "off", "gomaxprocs": 2}`), &k); err != nil || k.GOGC != "off" || k.GOMAXPROCS != 2 {
		t.Errorf("both fields: %+v, %v", k, err)
	}
}
