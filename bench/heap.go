package bench

import (
	"math/rand/v2"
	"runtime/metrics"
	"sync"
)

// PressureHeapBytes is the size of the live heap the GC-pressure benchmarks
// hold: 256 MiB.
const PressureHeapBytes = 256 << 20

// pressureNode is one object of the pressure heap: 32 bytes, three of them
// pointers, so the collector has to trace the whole heap on every cycle.
type pressureNode struct {
	left, right, up *pressureNode
	v               int
}

var (
	pressureOnce sync.Once
	// pressureRoots keeps the pressure heap alive for the rest of the process.
	pressureRoots []*pressureNode
)

// PressureHeap builds, on its first call, a live heap of about
// PressureHeapBytes made of small objects that point at one another in a
// random pattern, and keeps it alive for the rest of the process. Later calls
// return at once. It returns the number of objects.
//
// It is built only by the benchmarks that need it, so a run of the other
// benchmarks stays small and fast.
func PressureHeap() int {
	pressureOnce.Do(buildPressureHeap)
	return len(pressureRoots) * pressureFanout
}

// pressureFanout is how many nodes hang below each root slot.
const pressureFanout = 1024

func buildPressureHeap() {
	const nodeBytes = 32
	total := PressureHeapBytes / nodeBytes
	roots := make([]*pressureNode, total/pressureFanout)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range roots {
		// Each group is a chain (up) with random cross links (left, right)
		// inside the group and to earlier groups: pointer-rich, and
		// scattered over the heap as a real program's objects are.
		group := make([]*pressureNode, pressureFanout)
		for j := range group {
			nd := &pressureNode{v: j}
			if j > 0 {
				nd.up = group[j-1]
				nd.left = group[r.IntN(j)]
			}
			if i > 0 {
				prev := roots[r.IntN(i)]
				nd.right = prev
			}
			group[j] = nd
		}
		roots[i] = group[pressureFanout-1]
	}
	pressureRoots = roots
}

// gcSample and goSample read runtime counters without allocating.
var (
	gcMu     sync.Mutex
	gcSample = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	goSample = []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
)

// GCCycles returns the number of GC cycles the process has completed.
func GCCycles() uint64 { return readCounter(gcSample) }

// GoroutinesCreated returns the number of goroutines the process has
// started so far.
func GoroutinesCreated() uint64 { return readCounter(goSample) }

func readCounter(sample []metrics.Sample) uint64 {
	gcMu.Lock()
	defer gcMu.Unlock()
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
