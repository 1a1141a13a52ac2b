package server

import (
	"encoding/binary"
	"runtime/metrics"
)

// Metrics is one reading of the server's runtime metrics.
type Metrics struct {
	// HeapObjectsBytes is the memory held by heap objects, live or not yet
	// swept (/memory/classes/heap/objects:bytes). With the collector off it
	// is everything allocated.
	HeapObjectsBytes uint64 `json:"heap_objects_bytes"`
	// HeapGoalBytes is the heap size at which the next collection starts
	// (/gc/heap/goal:bytes); very large when the collector is off.
	HeapGoalBytes uint64 `json:"heap_goal_bytes"`
	// GCCycles counts completed collections (/gc/cycles/total:gc-cycles).
	GCCycles uint64 `json:"gc_cycles"`
	// AllocBytes is the cumulative bytes allocated (/gc/heap/allocs:bytes).
	AllocBytes uint64 `json:"alloc_bytes"`
	// AllocObjects is the cumulative count of allocations, counted as
	// runtime.MemStats.Mallocs counts them (/gc/heap/allocs:objects plus
	// /gc/heap/tiny/allocs:objects).
	AllocObjects uint64 `json:"alloc_objects"`
	// TotalBytes is all memory the Go runtime mapped (/memory/classes/total:bytes).
	TotalBytes uint64 `json:"total_bytes"`
}

var metricNames = [...]string{
	"/memory/classes/heap/objects:bytes",
	"/gc/heap/goal:bytes",
	"/gc/cycles/total:gc-cycles",
	"/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",
	"/gc/heap/tiny/allocs:objects",
	"/memory/classes/total:bytes",
}

const metricsWireLen = 8 * len(metricNames)

// metricsReader reads the metrics into preallocated storage: after
// newMetricsReader, read allocates nothing.
type metricsReader struct {
	samples []metrics.Sample
	wire    [metricsWireLen]byte
}

func newMetricsReader() *metricsReader {
	r := &metricsReader{samples: make([]metrics.Sample, len(metricNames))}
	for i, n := range metricNames {
		r.samples[i].Name = n
	}
	return r
}

// read samples the metrics and encodes them into r.wire.
func (r *metricsReader) read() []byte {
	metrics.Read(r.samples)
	for i := range r.samples {
		var v uint64
		if r.samples[i].Value.Kind() == metrics.KindUint64 {
			v = r.samples[i].Value.Uint64()
		}
		binary.LittleEndian.PutUint64(r.wire[8*i:], v)
	}
	return r.wire[:]
}

func decodeMetrics(b []byte) Metrics {
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	return Metrics{
		HeapObjectsBytes: u(0),
		HeapGoalBytes:    u(1),
		GCCycles:         u(2),
		AllocBytes:       u(3),
		AllocObjects:     u(4) + u(5),
		TotalBytes:       u(6),
	}
}
