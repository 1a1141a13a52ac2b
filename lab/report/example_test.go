package report_test

import (
	"os"

	"github.com/zerogc/zerogc/lab/report"
)

func ExampleWriteTable() {
	bpr, opr, gcs, growth := 2263.0, 21.0, uint64(0), int64(226<<20)
	_ = report.WriteTable(os.Stdout, []*report.Report{{
		Name: "nethttp gc=off", OK: 100000, RequestsPerSecond: 950,
		Latency:         report.Latency{P50: 0.4, P99: 1.8, Max: 12},
		BytesPerRequest: &bpr, ObjectsPerRequest: &opr, GCCycles: &gcs,
		HeapGrowthBytes: &growth, PeakRSSBytes: 240 << 20,
	}})
	// Output:
	// run             requests  req/s  p50 ms  p99 ms  max ms  errors  B/req  objs/req  GC cycles  heap growth   peak RSS
	// nethttp gc=off    100000    950    0.40    1.80   12.00       0   2263     21.00          0    226.0 MiB  240.0 MiB
}
