package tune

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Knobs are the runtime settings and extra compiler flags of one run
// (Request.Knobs). The zero value of each field leaves tune's default.
// The answer echoes them as applied (Result.Knobs), and the child reports
// the settings its runtime ended up with (Result.Runtime).
type Knobs struct {
	// GOGC is the child's GOGC: "off" or a percentage from 0 to 1000000
	// (default 100).
	GOGC string `json:"gogc,omitempty"`
	// GOMEMLIMIT is the child's soft memory limit: a number of bytes with
	// an optional unit B, KiB, MiB, GiB or TiB, such as "64MiB"; at most
	// the run's memory limit, which is also the default (tune's watchdog
	// kills the run above it whatever this says).
	GOMEMLIMIT string `json:"gomemlimit,omitempty"`
	// GOMAXPROCS is the child's GOMAXPROCS, from 1 to maxKnobProcs (0: the
	// runtime's default, the number of CPUs).
	GOMAXPROCS int `json:"gomaxprocs,omitempty"`
	// GODEBUG is a comma-separated list of name=value settings added to
	// the child's GODEBUG, such as "madvdontneed=1,gcshrinkstackoff=1".
	// gctrace is tune's own (the GC chart needs gctrace=1).
	GODEBUG string `json:"godebug,omitempty"`
	// GCFlags are extra compiler flags for the snippet's package, separated
	// by spaces, from an allow-list (see gcflagAllowed): "-N", "-l", "-B",
	// "-smallframes", "-spectre=index" and a few more.
	GCFlags string `json:"gcflags,omitempty"`
}

// RuntimeSettings are the settings the child's runtime reports it runs
// with (reported by the child, like its other figures).
type RuntimeSettings struct {
	GOMAXPROCS int `json:"gomaxprocs"`
	// GOGC is the GC percentage (/gc/gogc:percent), -1 when off.
	GOGC int64 `json:"gogc"`
	// GOMEMLIMIT is the soft memory limit in bytes (/gc/gomemlimit:bytes).
	GOMEMLIMIT int64 `json:"gomemlimit"`
	NumCPU     int   `json:"numCPU"`
}

// maxKnobProcs is the largest GOMAXPROCS a run may ask for.
const maxKnobProcs = 256

// maxGODEBUG bounds the length of the GODEBUG knob.
const maxGODEBUG = 512

var (
	godebugNameRE  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	godebugValueRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]*$`)
	memLimitRE     = regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`)
)

// gcflagAllowed lists the compiler flags a run may add. None of them
// names a file or a directory, runs a program or changes what the go
// command does: they only change how the snippet's package is compiled,
// and so what its assembly, escape decisions and run show. Flags that
// take a path (-importcfg, -trimpath, -o, -p, -D, -I, -cpuprofile, ...),
// that change the compiler's output format that tune parses (-C, -json)
// that need a runtime tune did not build (-race, -msan, -asan) or that
// print more than tune parses (-d=ssa/...) are not on the list.
var gcflagAllowed = map[string]string{
	"-N":             "disable optimisations",
	"-l":             "disable inlining",
	"-B":             "disable bounds checking",
	"-smallframes":   "reduce the size limit of stack-allocated objects (more escape to the heap)",
	"-spectre=index": "Spectre mitigations for indexing",
	"-spectre=ret":   "Spectre mitigations for returns",
	"-spectre=all":   "every Spectre mitigation",
	"-d=checkptr":    "unsafe.Pointer conversion checks",
	"-d=checkptr=0":  "no unsafe.Pointer conversion checks",
	"-d=checkptr=1":  "unsafe.Pointer conversion checks",
	"-d=checkptr=2":  "unsafe.Pointer conversion checks, and escape of converted pointers",
}

// check validates the knobs against the runner's options and returns them
// normalised (GOGC in lower case, the flags joined by single spaces).
func (k Knobs) check(o Options) (Knobs, error) {
	var n Knobs
	if g := strings.TrimSpace(k.GOGC); g != "" {
		if strings.EqualFold(g, "off") {
			n.GOGC = "off"
		} else {
			v, err := strconv.Atoi(g)
			if err != nil || v < 0 || v > 1000000 {
				return Knobs{}, fmt.Errorf(`knob GOGC %q: give "off" or a percentage from 0 to 1000000 (100 is the default; 50 collects twice as often)`, k.GOGC)
			}
			n.GOGC = strconv.Itoa(v)
		}
	}
	if m := strings.TrimSpace(k.GOMEMLIMIT); m != "" {
		v, err := parseMemLimit(m)
		if err != nil {
			return Knobs{}, fmt.Errorf("knob GOMEMLIMIT %q: %v", k.GOMEMLIMIT, err)
		}
		if v > o.MemoryLimit {
			return Knobs{}, fmt.Errorf("knob GOMEMLIMIT %q is %d bytes, over the run's memory limit of %d MiB (tune's --memory): give at most %dMiB", k.GOMEMLIMIT, v, o.MemoryLimit>>20, o.MemoryLimit>>20)
		}
		if v < 1<<20 {
			return Knobs{}, fmt.Errorf("knob GOMEMLIMIT %q is under 1 MiB: a Go program's runtime alone needs more; give at least 1MiB", k.GOMEMLIMIT)
		}
		n.GOMEMLIMIT = strconv.FormatInt(v, 10)
	}
	if p := k.GOMAXPROCS; p != 0 {
		if p < 1 || p > maxKnobProcs {
			return Knobs{}, fmt.Errorf("knob GOMAXPROCS %d: give 1 to %d (0 or nothing: the number of CPUs)", p, maxKnobProcs)
		}
		if p*2 > o.MaxProcs {
			return Knobs{}, fmt.Errorf("knob GOMAXPROCS %d: the run may have %d threads and processes (tune's --procs); give at most %d", p, o.MaxProcs, o.MaxProcs/2)
		}
		n.GOMAXPROCS = p
	}
	if d := strings.TrimSpace(k.GODEBUG); d != "" {
		if len(d) > maxGODEBUG {
			return Knobs{}, fmt.Errorf("knob GODEBUG is %d bytes; the limit is %d", len(d), maxGODEBUG)
		}
		var parts []string
		for _, kv := range strings.Split(d, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			name, value, ok := strings.Cut(kv, "=")
			if !ok || !godebugNameRE.MatchString(name) || !godebugValueRE.MatchString(value) {
				return Knobs{}, fmt.Errorf("knob GODEBUG: %q is not a name=value setting (names are lower-case letters, digits and _, such as madvdontneed=1; settings are separated by commas)", kv)
			}
			if name == "gctrace" {
				return Knobs{}, fmt.Errorf("knob GODEBUG: gctrace is tune's own (the GC chart reads the gctrace=1 lines); leave it out")
			}
			parts = append(parts, name+"="+value)
		}
		n.GODEBUG = strings.Join(parts, ",")
	}
	if f := strings.TrimSpace(k.GCFlags); f != "" {
		var flags []string
		for _, fl := range strings.Fields(f) {
			if _, ok := gcflagAllowed[fl]; !ok {
				return Knobs{}, fmt.Errorf("knob gcflags: %q is not allowed; tune accepts only flags that change how the snippet is compiled and name no file: %s", fl, allowedFlagList())
			}
			flags = append(flags, fl)
		}
		n.GCFlags = strings.Join(flags, " ")
	}
	return n, nil
}

func allowedFlagList() string {
	names := make([]string, 0, len(gcflagAllowed))
	for f := range gcflagAllowed {
		names = append(names, f)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// parseMemLimit reads a size such as "64MiB" or "1048576" in bytes.
func parseMemLimit(s string) (int64, error) {
	m := memLimitRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf(`give a number of bytes with an optional unit B, KiB, MiB, GiB or TiB, such as "64MiB"`)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("the number is out of range")
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	if v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("the size is out of range")
	}
	return v << shift, nil
}

// empty reports whether no knob is set.
func (k Knobs) empty() bool { return k == Knobs{} }

// env returns the child's environment settings for the knobs; godebug is
// what tune itself sets in GODEBUG (gctrace=1 for a harness run), kept
// last so that it wins. memLimit is tune's default GOMEMLIMIT.
func (k Knobs) env(memLimit int64, godebug string) []string {
	limit := strconv.FormatInt(memLimit, 10)
	if k.GOMEMLIMIT != "" {
		limit = k.GOMEMLIMIT
	}
	env := []string{"GOMEMLIMIT=" + limit}
	if k.GOGC != "" {
		env = append(env, "GOGC="+k.GOGC)
	}
	if k.GOMAXPROCS != 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(k.GOMAXPROCS))
	}
	d := k.GODEBUG
	if godebug != "" {
		if d != "" {
			d += ","
		}
		d += godebug
	}
	if d != "" {
		env = append(env, "GODEBUG="+d)
	}
	return env
}

// gcflags returns the extra compiler flags, to be appended to the
// snippet package's -gcflags.
func (k Knobs) gcflags() string {
	if k.GCFlags == "" {
		return ""
	}
	return " " + k.GCFlags
}

// setKnobs checks the request's knobs and makes them the run's; the
// result echoes them as applied.
func (r *Runner) setKnobs(req Request, res *Result) error {
	r.knobs = Knobs{}
	if req.Knobs == nil {
		return nil
	}
	k, err := req.Knobs.check(r.opt)
	if err != nil {
		return err
	}
	r.knobs = k
	if !k.empty() {
		res.Knobs = &k
	}
	return nil
}

// UnmarshalJSON reads the knobs object of a request, refusing unknown
// fields; GOMAXPROCS may be a number or a string (what a form field holds),
// and a string that is not a whole number is refused with the reason.
func (k *Knobs) UnmarshalJSON(b []byte) error {
	type plain Knobs
	var aux struct {
		plain
		GOMAXPROCS json.RawMessage `json:"gomaxprocs,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return fmt.Errorf("knobs: %v (the knobs are gogc, gomemlimit, gomaxprocs, godebug and gcflags)", err)
	}
	*k = Knobs(aux.plain)
	if len(aux.GOMAXPROCS) == 0 || string(aux.GOMAXPROCS) == "null" {
		return nil
	}
	raw := string(aux.GOMAXPROCS)
	if s, err := strconv.Unquote(raw); err == nil {
		raw = strings.TrimSpace(s)
		if raw == "" {
			return nil
		}
	}
	v, err := strconv.Atoi(raw)
	if err != nil {
		return fmt.Errorf("knob GOMAXPROCS %s: give a whole number from 1 to %d", aux.GOMAXPROCS, maxKnobProcs)
	}
	k.GOMAXPROCS = v
	return nil
}
