package server

import (
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// GCMode is how the child server's garbage collector is configured.
type GCMode struct {
	// Off disables the collector (GOGC=off).
	Off bool
	// Limit, when positive, sets a soft memory limit in bytes (GOMEMLIMIT)
	// with GOGC=off: the collector runs only when the heap nears the limit.
	Limit int64
}

// ParseGC parses "on", "off" or "limit=SIZE", where SIZE is a byte count
// with an optional unit B, KiB, MiB, GiB or TiB (as GOMEMLIMIT takes it).
func ParseGC(s string) (GCMode, error) {
	switch s {
	case "on":
		return GCMode{}, nil
	case "off":
		return GCMode{Off: true}, nil
	}
	if size, ok := strings.CutPrefix(s, "limit="); ok {
		n, err := ParseSize(size)
		if err != nil {
			return GCMode{}, err
		}
		if n < 1<<20 {
			return GCMode{}, errorf("memory limit %q is below 1MiB: the runtime alone needs more", size)
		}
		return GCMode{Off: true, Limit: n}, nil
	}
	return GCMode{}, errorf("unknown GC mode %q: use on, off or limit=SIZE (e.g. limit=256MiB)", s)
}

// ParseSize parses a byte count such as 512MiB, 1GiB, 4096 or 64KiB.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10}, {"b", 1}}
	num, mult := strings.ToLower(strings.TrimSpace(s)), int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, errorf("bad size %q: want a positive whole number with an optional unit B, KiB, MiB, GiB or TiB (e.g. 256MiB)", s)
	}
	return n * mult, nil
}

// String returns the mode in the syntax ParseGC accepts.
func (m GCMode) String() string {
	switch {
	case m.Limit > 0:
		return "limit=" + FormatSize(m.Limit)
	case m.Off:
		return "off"
	}
	return "on"
}

// Env returns the environment variables that configure the mode.
func (m GCMode) Env() []string {
	switch {
	case m.Limit > 0:
		return []string{"GOGC=off", "GOMEMLIMIT=" + strconv.FormatInt(m.Limit, 10)}
	case m.Off:
		return []string{"GOGC=off", "GOMEMLIMIT=off"}
	}
	return []string{"GOGC=100", "GOMEMLIMIT=off"}
}

// Apply configures the running program's collector as the mode says, as
// Env would for a new process: [debug.SetGCPercent] (100, or -1 for off)
// and [debug.SetMemoryLimit] (the limit, or none).
func (m GCMode) Apply() {
	switch {
	case m.Limit > 0:
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(m.Limit)
	case m.Off:
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(math.MaxInt64)
	default:
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}

// FormatSize formats a byte count with the largest binary unit that divides
// it exactly, or in bytes.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
