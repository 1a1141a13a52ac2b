//go:build !race

package bench

import (
	"strings"
	"testing"
)

// TestVtaskContendersDoNotAllocate asserts the claim of the README table:
// in steady state, every vtask contender allocates nothing per round trip
// and nothing per fan-out batch.
func TestVtaskContendersDoNotAllocate(t *testing.T) {
	for _, c := range Contenders() {
		if !strings.HasPrefix(c.Name, "vtask") && c.Name != "floor" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			rt, stop := c.NewRoundTrip()
			defer stop()
			for i := range warmup {
				mustRoundTrip(t, rt, i)
			}
			if a := testing.AllocsPerRun(1000, func() { mustRoundTrip(t, rt, 7) }); a != 0 {
				t.Errorf("round trip: %v allocations per op; want 0", a)
			}
			fo, stopFO := c.NewFanOut(FanOutBatch)
			defer stopFO()
			results := make([]int, FanOutBatch)
			want := fanOutSum(FanOutBatch)
			for range 10 {
				mustFanOut(t, fo, results, want)
			}
			if a := testing.AllocsPerRun(50, func() { mustFanOut(t, fo, results, want) }); a != 0 {
				t.Errorf("fan-out: %v allocations per batch of %d; want 0", a, FanOutBatch)
			}
		})
	}
}

// TestPeersAllocate keeps the comparison honest the other way: the peers
// measured here do allocate per operation (if a new version stops, the
// README's table must be rerun, not trusted).
func TestPeersAllocate(t *testing.T) {
	for _, c := range Contenders() {
		if strings.HasPrefix(c.Name, "vtask") || c.Name == "floor" || c.Name == "sync-call" {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			rt, stop := c.NewRoundTrip()
			defer stop()
			for i := range warmup {
				mustRoundTrip(t, rt, i)
			}
			if a := testing.AllocsPerRun(1000, func() { mustRoundTrip(t, rt, 7) }); a < 1 {
				t.Errorf("round trip: %v allocations per op; the table says this peer allocates", a)
			}
		})
	}
}
