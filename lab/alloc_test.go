//go:build !race

package lab

import (
	"context"
	"testing"

	"github.com/zerogc/zerogc/lab/server"
)

// The end-to-end claim, on a small matrix: with the collector off, the
// zero flavor allocates at most 64 bytes per request on the server and its
// heap stays flat, while net/http allocates over a kilobyte per request and
// its heap grows by what it allocates. (Not under -race: the race runtime
// makes sync.Pool drop objects on purpose, which allocates.)
func TestEndToEndAllocation(t *testing.T) {
	const n = 3000
	for _, tc := range []struct {
		flavor server.Flavor
		check  func(t *testing.T, bpr float64, growth int64, alloc uint64)
	}{
		{server.Zero, func(t *testing.T, bpr float64, growth int64, alloc uint64) {
			if bpr > 64 {
				t.Errorf("zero flavor: %.1f B/request, want <= 64", bpr)
			}
			if growth >= 1<<20 {
				t.Errorf("zero flavor: heap grew by %d B, want < 1 MiB", growth)
			}
		}},
		{server.NetHTTP, func(t *testing.T, bpr float64, growth int64, alloc uint64) {
			if bpr <= 1000 {
				t.Errorf("net/http: %.1f B/request, want > 1000", bpr)
			}
			if growth < int64(alloc)*9/10 {
				t.Errorf("net/http with GOGC=off: heap grew by %d B but %d B were allocated", growth, alloc)
			}
		}},
	} {
		t.Run(string(tc.flavor), func(t *testing.T) {
			r, err := Run(context.Background(), Config{Flavor: tc.flavor, GC: server.GCMode{Off: true}, Users: 10, Requests: n, Warmup: 500})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != n {
				t.Fatalf("%d of %d ok: %v", r.OK, n, r.Errors)
			}
			t.Logf("%s: %.1f B/request, %.2f objects/request, heap growth %d B", r.Name, *r.BytesPerRequest, *r.ObjectsPerRequest, *r.HeapGrowthBytes)
			tc.check(t, *r.BytesPerRequest, *r.HeapGrowthBytes, *r.AllocatedBytes)
		})
	}
}

func TestProfileRequest(t *testing.T) {
	for _, tc := range []struct {
		flavor   server.Flavor
		min, max int64
	}{{server.Zero, 0, 64}, {server.NetHTTP, 1001, 1 << 20}} {
		p, err := Profile(context.Background(), Config{Flavor: tc.flavor, Warmup: 200})
		if err != nil {
			t.Fatal(err)
		}
		if p.Bytes < tc.min || p.Bytes > tc.max {
			t.Errorf("%s: one request allocated %d B, want %d..%d", tc.flavor, p.Bytes, tc.min, tc.max)
		}
		if p.Bytes > 0 && len(p.Sites) == 0 {
			t.Errorf("%s: bytes without sites", tc.flavor)
		}
		t.Logf("%s: %d B, %d objects, %d sites", tc.flavor, p.Bytes, p.Objects, len(p.Sites))
		if tc.flavor == server.Zero {
			for _, s := range p.Sites {
				t.Logf("  %s %s:%d %d B", s.Function, s.File, s.Line, s.Bytes)
			}
		}
	}
}

func TestCompareMatrix(t *testing.T) {
	rs, err := Compare(context.Background(), Config{Users: 4, Requests: 300, Warmup: 50})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"nethttp gc=on", "nethttp gc=off", "zero gc=on", "zero gc=off"}
	if len(rs) != len(want) {
		t.Fatalf("%d reports", len(rs))
	}
	for i, r := range rs {
		if r.Name != want[i] || r.OK != 300 {
			t.Errorf("report %d: %s with %d ok, want %s with 300", i, r.Name, r.OK, want[i])
		}
	}
}

// TestEndToEndAllocationRedisRoute: the zero flavor's Redis route
// allocates nothing per request on the server (a few kB in all: the
// runtime's counters move a span at a time) and runs no collection.
func TestEndToEndAllocationRedisRoute(t *testing.T) {
	r := runRedisRoute(t)
	if r.OK != 2000 || *r.BytesPerRequest > 16 || *r.GCCycles != 0 {
		t.Fatalf("zero flavor on the Redis route: %d ok, %.1f B/request, %d GC cycles; want 2000, ~0 and none", r.OK, *r.BytesPerRequest, *r.GCCycles)
	}
}
