// Package corpus holds known cases for zerogc check: each CaseX function is
// marked //zerogc:noalloc and says in a "want:" line what the checker must
// conclude (alloc: it can allocate or cannot be verified; clean: proven not
// to allocate; allowed: clean because of a //zerogc:allow). The test also
// measures each case with testing.AllocsPerRun.
package corpus

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"corpus/sub"
)

// Inputs the compiler cannot constant-fold, and sinks that make values escape.
var (
	n      = 8
	small  = 7
	big    = 1000
	str    = "hello"
	str2   = " world"
	bs     = []byte("abc")
	sinkP  *int
	sinkB  []byte
	sinkS  string
	sinkI  any
	sinkF  func()
	sinkM  map[int]int
	sinkC  chan int
	sinkN  int
	sinkT  *T
	global int
	ch               = make(chan int, 1)
	gmap             = map[int]int{1: 1}
	smap             = map[string]int{"abc": 1}
	buf              = make([]byte, 0, 64)
	reader io.Reader = zeroReader{}
	fnVar            = func() int { return 1 }
	mu     sync.Mutex
	count  atomic.Int64
)

// T is a small struct with methods.
type T struct{ a, b int }

// M is a method used as a method value.
func (t T) M() { sinkN = t.a + t.b }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { return len(p), nil }

// want: alloc
//
//zerogc:noalloc
func CaseNewEscapes() { sinkP = new(int) }

// want: clean
//
//zerogc:noalloc
func CaseNewLocal() {
	p := new(int)
	*p = n
	sinkN = *p
}

// want: alloc
//
//zerogc:noalloc
func CaseMovedToHeap() {
	x := n
	sinkP = &x
}

// want: alloc
//
//zerogc:noalloc
func CaseMakeSliceVarSize() {
	b := make([]byte, n)
	sinkN = len(b) + int(b[0])
}

// want: alloc
//
//zerogc:noalloc
func CaseMakeSliceBigVarSize() {
	b := make([]byte, big)
	sinkN = len(b) + int(b[0])
}

// want: clean
//
//zerogc:noalloc
func CaseMakeSliceConstLocal() {
	b := make([]byte, 64)
	b[n] = 1
	sinkN = int(b[3]) + int(b[n])
}

// want: alloc
//
//zerogc:noalloc
func CaseMakeSliceEscapes() { sinkB = make([]byte, 8) }

// want: alloc
//
//zerogc:noalloc
func CaseAppendGrows() { sinkB = append([]byte(nil), byte(n)) }

// want: alloc
//
//zerogc:noalloc
func CaseAppendWithinCap() { buf = append(buf[:0], byte(n)) }

// want: alloc
//
//zerogc:noalloc
func CaseMakeMapEscapes() { sinkM = make(map[int]int) }

// want: alloc
//
//zerogc:noalloc
func CaseMapAssignExisting() { gmap[1] = n }

// want: clean
//
//zerogc:noalloc
func CaseMapLookup() { sinkN = gmap[n] }

// want: clean
//
//zerogc:noalloc
func CaseMapLookupBytesKey() { sinkN = smap[string(bs)] }

// want: alloc
//
//zerogc:noalloc
func CaseMakeChan() { sinkC = make(chan int) }

// want: clean
//
//zerogc:noalloc
func CaseChanSendReceive() {
	ch <- n
	sinkN = <-ch
}

// want: clean
//
//zerogc:noalloc
func CaseIfaceConstSmallInt() { sinkI = 7 }

// want: alloc
//
//zerogc:noalloc
func CaseIfaceVarSmallInt() { sinkI = small }

// want: alloc
//
//zerogc:noalloc
func CaseIfaceVarBigInt() { sinkI = big }

// want: alloc
//
//zerogc:noalloc
func CaseIfaceString() { sinkI = str }

// want: clean
//
//zerogc:noalloc
func CaseIfacePointer() { sinkI = &global }

// want: alloc
//
//zerogc:noalloc
func CaseIfaceStruct() { sinkI = T{a: n, b: n} }

// want: alloc
//
//zerogc:noalloc
func CaseConcatEscapes() { sinkS = str + str2 }

// want: alloc
//
//zerogc:noalloc
func CaseConcatLocalSmall() { sinkN = len(str + str2) }

// want: alloc
//
//zerogc:noalloc
func CaseBytesToString() { sinkS = string(bs) }

// want: clean
//
//zerogc:noalloc
func CaseBytesCompareString() {
	if string(bs) == "abc" {
		sinkN++
	}
}

// want: alloc
//
//zerogc:noalloc
func CaseStringToBytes() { sinkB = []byte(str) }

// want: alloc
//
//zerogc:noalloc
func CaseIntToString() { sinkS = string(rune(big)) }

// want: alloc
//
//zerogc:noalloc
func CaseClosureCapturesEscapes() {
	x := n
	sinkF = func() { x++ }
}

// want: clean
//
//zerogc:noalloc
func CaseClosureLocal() {
	x := n
	f := func() { x++ }
	f()
	sinkN = x
}

// want: clean
//
//zerogc:noalloc
func CaseClosureNoCaptureEscapes() { sinkF = func() { sinkN++ } }

// want: alloc
//
//zerogc:noalloc
func CaseMethodValueEscapes() {
	t := T{a: n}
	sinkF = t.M
}

// want: alloc
//
//zerogc:noalloc
func CaseMethodValueLocal() {
	t := T{a: n}
	f := t.M
	f()
}

// want: clean
//
//zerogc:noalloc
func CaseDeferOpenCoded() {
	mu.Lock()
	defer mu.Unlock()
	sinkN++
}

// want: alloc
//
//zerogc:noalloc
func CaseDeferInLoop() {
	for i := 0; i < n; i++ {
		defer func() { sinkN++ }()
	}
}

// want: alloc
//
//zerogc:noalloc
func CaseGoStatement() {
	done := make(chan struct{}, 1)
	go func() { done <- struct{}{} }()
	<-done
}

func inlinedAlloc() { sinkP = new(int) }

// want: alloc
//
//zerogc:noalloc
func CaseInlinedCalleeAllocates() { inlinedAlloc() }

//go:noinline
func notInlinedAlloc() { sinkP = new(int) }

// want: alloc
//
//zerogc:noalloc
func CaseCalleeAllocates() { notInlinedAlloc() }

// want: alloc
//
//zerogc:noalloc
func CaseOtherPackageAllocates() { sub.Deep() }

// want: clean
//
//zerogc:noalloc
func CaseOtherPackageClean() { sinkN = sub.Add(n, 2) }

// want: clean
//
//zerogc:noalloc
func CaseRecursion() { sinkN = fib(n) }

//go:noinline
func fib(k int) int {
	if k < 2 {
		return k
	}
	return fib(k-1) + fib(k-2)
}

// Store puts v into an interface.
func Store[V any](v V) { sinkI = v }

// want: alloc
//
//zerogc:noalloc
func CaseGenericAllocates() { Store(str) }

// Sum adds the elements of xs.
//
// want: clean
//
//zerogc:noalloc
func Sum[E int | float64](xs []E) E {
	var s E
	for _, x := range xs {
		s += x
	}
	return s
}

var ints = []int{1, 2, 3}
var floats = []float64{1, 2, 3}

// want: clean
//
//zerogc:noalloc
func CaseGenericClean() { sinkN = Sum(ints) + int(Sum(floats)) }

// Stack is a generic stack.
type Stack[E any] struct{ items []E }

// Push appends e.
func (s *Stack[E]) Push(e E) { s.items = append(s.items, e) }

var stack Stack[int]

// want: alloc
//
//zerogc:noalloc
func CaseGenericMethodAppend() {
	stack.Push(n)
	stack.items = stack.items[:0]
}

// want: alloc
//
//zerogc:noalloc
func CaseInterfaceCall() { _, _ = reader.Read(buf[:4]) }

// want: alloc
//
//zerogc:noalloc
func CaseFuncValueCall() { sinkN = fnVar() }

// want: allowed
//
//zerogc:noalloc
func CaseAllowedAllocation() {
	sinkP = new(int) //zerogc:allow the corpus's example of an exempted line
}

// want: allowed
//
//zerogc:noalloc
func CaseAllowedColdError() {
	if n < 0 {
		//zerogc:allow cold error path
		sinkI = fmt.Errorf("negative n: %d", n)
	}
}

// want: clean
//
//zerogc:noalloc
func CasePanicConstant() {
	if n < 0 {
		panic("negative n")
	}
}

// want: alloc
//
//zerogc:noalloc
func CaseReturnsPointer() { sinkT = newT() }

func newT() *T { return &T{a: n} }

// want: alloc
//
//zerogc:noalloc
func CaseHugeLocalArray() {
	var a [11 << 20]byte
	a[n] = 1
	sinkN = int(a[n])
}

// want: clean
//
//zerogc:noalloc
func CaseLocalArray() {
	var a [1024]byte
	a[n] = 1
	sinkN = int(a[n])
}

func sumAll(xs ...int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// want: clean
//
//zerogc:noalloc
func CaseVariadicLocal() { sinkN = sumAll(n, n, n) }

// want: clean
//
//zerogc:noalloc
func CaseStdlibStringsIndex() { sinkN = strings.IndexByte(str, 'o') + strings.Index(str, "ll") }

// want: clean
//
//zerogc:noalloc
func CaseStdlibMath() { sinkN = int(math.Sqrt(float64(n))) + utf8.RuneLen(rune(n)) }

// want: clean
//
//zerogc:noalloc
func CaseStdlibAtomic() { count.Add(1) }

// want: clean
//
//zerogc:noalloc
func CaseStdlibTimeNow() { sinkN = time.Now().Nanosecond() }

// want: alloc
//
//zerogc:noalloc
func CaseStdlibItoa() { sinkS = strconv.Itoa(big) }

// want: alloc
//
//zerogc:noalloc
func CaseStdlibAppendInt() { buf = strconv.AppendInt(buf[:0], int64(big), 10) }

// want: alloc
//
//zerogc:noalloc
func CaseStdlibErrorsNew() { sinkI = errors.New(str) }

// want: alloc
//
//zerogc:noalloc
func CaseStdlibSprint() { sinkS = fmt.Sprint(big) }

// want: alloc
//
//zerogc:noalloc
func CaseStdlibBuilder() {
	var b strings.Builder
	b.WriteString(str)
	sinkS = b.String()
}

// want: clean
//
//zerogc:noalloc
func CaseDeferClosure() {
	x := n
	defer func() { sinkN = x }()
	x++
}

// BoxUnused is generic and instantiated by nothing in the corpus: the
// checker instantiates it itself.
//
// want: alloc
//
//zerogc:noalloc
func BoxUnused[V any](v V) { sinkI = v }

// Pair is a generic type whose method no code calls.
type Pair[K comparable, V any] struct {
	k K
	v V
}

// Swap is clean for every instantiation.
//
// want: clean
//
//zerogc:noalloc
func (p *Pair[K, V]) Swap(k K, v V) (K, V) {
	ok, ov := p.k, p.v
	p.k, p.v = k, v
	return ok, ov
}

// want: alloc
//
//zerogc:noalloc
func CaseDeferChosenClosure() {
	f := func() { sinkN++ }
	if n > 100 {
		f = func() { sinkP = new(int) }
	}
	defer f()
}
