//go:build !race

package bench

import (
	"testing"
	"time"
)

// TestDeadlineSourceAllocatesNothing: giving a call a deadline adds no
// allocation of the harness to the deadline workload's figures.
func TestDeadlineSourceAllocatesNothing(t *testing.T) {
	const runs = 1000
	s := NewDeadlineSource(runs+10, time.Hour)
	defer s.Close()
	allocs := testing.AllocsPerRun(runs, func() {
		ctx := s.Arm()
		_ = ctx.Err()
		s.Disarm()
	})
	if allocs != 0 {
		t.Errorf("Arm+Disarm: %.1f allocs; want 0", allocs)
	}
}
