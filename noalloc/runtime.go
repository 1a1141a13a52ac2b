package noalloc

import (
	"strconv"
	"strings"
)

// allocators are the functions whose call in compiled code means a heap
// allocation (or, for map assignment and append, a possible one), with
// what the compiler emits them for.
var allocators = map[string]string{
	"runtime.newobject":               "new object (new(T), &T{...}, or a variable moved to the heap)",
	"runtime.newarray":                "new array",
	"runtime.mallocgc":                "heap allocation",
	"runtime.makeslice":               "make of a slice",
	"runtime.makeslice64":             "make of a slice",
	"runtime.makeslicecopy":           "make and copy of a slice",
	"runtime.growslice":               "append that grows a slice",
	"runtime.makemap":                 "make of a map",
	"runtime.makemap64":               "make of a map",
	"runtime.makemap_small":           "make of a map",
	"runtime.mapassign":               "map assignment (allocates when the map grows)",
	"runtime.mapassign_fast32":        "map assignment (allocates when the map grows)",
	"runtime.mapassign_fast32ptr":     "map assignment (allocates when the map grows)",
	"runtime.mapassign_fast64":        "map assignment (allocates when the map grows)",
	"runtime.mapassign_fast64ptr":     "map assignment (allocates when the map grows)",
	"runtime.mapassign_faststr":       "map assignment (allocates when the map grows)",
	"runtime.makechan":                "make of a channel",
	"runtime.makechan64":              "make of a channel",
	"runtime.convT":                   "conversion to an interface",
	"runtime.convTnoptr":              "conversion to an interface",
	"runtime.convT16":                 "conversion to an interface (no allocation for values below 256)",
	"runtime.convT32":                 "conversion to an interface (no allocation for values below 256)",
	"runtime.convT64":                 "conversion to an interface (no allocation for values below 256)",
	"runtime.convTstring":             "conversion of a string to an interface (no allocation for \"\")",
	"runtime.convTslice":              "conversion of a slice to an interface (no allocation for nil)",
	"runtime.concatstring2":           "string concatenation",
	"runtime.concatstring3":           "string concatenation",
	"runtime.concatstring4":           "string concatenation",
	"runtime.concatstring5":           "string concatenation",
	"runtime.concatstrings":           "string concatenation",
	"runtime.concatbyte2":             "concatenation into a []byte",
	"runtime.concatbyte3":             "concatenation into a []byte",
	"runtime.concatbyte4":             "concatenation into a []byte",
	"runtime.concatbyte5":             "concatenation into a []byte",
	"runtime.concatbytes":             "concatenation into a []byte",
	"runtime.slicebytetostring":       "[]byte to string conversion",
	"runtime.stringtoslicebyte":       "string to []byte conversion",
	"runtime.stringtoslicerune":       "string to []rune conversion",
	"runtime.slicerunetostring":       "[]rune to string conversion",
	"runtime.intstring":               "rune to string conversion",
	"runtime.deferproc":               "defer that allocates its record (a defer in a loop, or too many defers)",
	"runtime.deferprocat":             "defer that allocates its record (defer in a range-over-func body)",
	"runtime.newproc":                 "go statement (a new goroutine)",
	"runtime.(*Pinner).Pin":           "pins a pointer (allocates the Pinner's state on first use, and its list beyond 5 pointers)",
	"runtime.SetFinalizer":            "sets a finalizer (allocates its record)",
	"internal/bytealg.MakeNoZero":     "allocation by the runtime (make without zeroing)",
	"reflect.unsafe_New":              "allocation by the runtime (reflect.New)",
	"reflect.unsafe_NewArray":         "allocation by the runtime (reflect.MakeSlice)",
	"reflect.makemap":                 "allocation by the runtime (reflect.MakeMap)",
	"reflect.makechan":                "allocation by the runtime (reflect.MakeChan)",
	"reflect.mapassign0":              "map assignment by reflect",
	"reflect.mapassign_faststr0":      "map assignment by reflect",
	"reflect.growslice":               "append by reflect",
	"internal/reflectlite.unsafe_New": "allocation by the runtime",
}

// allocatorPrefixes are families of runtime functions that allocate:
// generic ones, compiled per instantiation, and the size-specialised
// allocators that Go 1.27 compiles new(T), &T{...} and variables moved to
// the heap into instead of runtime.newobject (runtime.mallocgcTinySC2,
// runtime.mallocgcSmallNoScanSC3, runtime.mallocgcSmallScanNoHeaderSC2,
// ...; their list grows with the size classes, so the family is matched,
// not each name).
var allocatorPrefixes = map[string]string{
	"runtime.AddCleanup[": "adds a cleanup (allocates its record and closure)",
	"runtime.mallocgc":    "new object (new(T), &T{...}, or a variable moved to the heap; Go 1.27's size-specialised allocator)",
}

// allocates returns what the call of sym allocates for, if it does.
func allocates(sym string) (string, bool) {
	if what, ok := allocators[sym]; ok {
		return what, true
	}
	for p, what := range allocatorPrefixes {
		if strings.HasPrefix(sym, p) {
			return what, true
		}
	}
	return "", false
}

// opaque are runtime functions that call code the checker cannot see.
var opaque = map[string]string{
	"runtime.reflectcall": "reflective call of an arbitrary function",
}

// leafPackages hold the runtime and what it is built from: their code is
// not followed; a call into them allocates only when it names one of the
// allocators above.
var leafPackages = []string{
	"runtime", "internal/runtime/", "runtime/internal/", "internal/abi", "internal/bytealg",
	"internal/cpu", "internal/goarch", "internal/goos", "internal/race", "internal/asan",
	"internal/msan", "sync/atomic", "internal/chacha8rand", "unsafe",
}

func isLeafPackage(path string) bool {
	for _, l := range leafPackages {
		if path == l || strings.HasSuffix(l, "/") && strings.HasPrefix(path, l) {
			return true
		}
	}
	return false
}

// canonical removes the type arguments from a symbol, so that every
// instantiation of a generic function has the name of its declaration:
// "p.(*Core[go.shape.int]).SetResult" becomes "p.(*Core).SetResult".
func canonical(sym string) string {
	if !strings.Contains(sym, "[") {
		return sym
	}
	var b strings.Builder
	depth := 0
	for _, r := range sym {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ownerFunc returns the declared function a compiled symbol belongs to:
// closures ("F.func1"), defer wrappers ("F.deferwrap1") and method values
// ("(*T).M-fm") are part of F, T.M.
func ownerFunc(canon string) string {
	canon = strings.TrimSuffix(canon, "-fm")
	for {
		i := strings.LastIndexByte(canon, '.')
		if i < 0 {
			return canon
		}
		last := canon[i+1:]
		num := strings.TrimLeft(last, "abcdefghijklmnopqrstuvwxyz")
		if _, err := strconv.Atoi(num); err == nil && (num == last || strings.HasPrefix(last, "func") || strings.HasPrefix(last, "deferwrap") || strings.HasPrefix(last, "gowrap")) {
			canon = canon[:i]
			continue
		}
		return canon
	}
}
