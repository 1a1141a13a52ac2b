//go:build !race

package bench

import (
	"context"
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

// TestZerogcSessionAllocatesNothing backs the target of the Redis tables,
// 0 allocs/op on every row of this repository's client, deterministically:
// the zerogc adapter's Get, Set and batch of RedisBatch GETs allocate
// nothing in steady state against the real server.
func TestZerogcSessionAllocatesNothing(t *testing.T) {
	srv, _ := startLoadedRedis(t)
	var rc RedisContender
	for _, c := range RedisContenders() {
		if c.Name == "zerogc" {
			rc = c
		}
	}
	if rc.Dial == nil {
		t.Fatal("no zerogc Redis contender")
	}
	client, err := rc.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess := client.NewSession()
	ctx := context.Background()
	keys := make([]int, RedisBatch)
	for i := range keys {
		keys[i] = i * 3
	}
	i := 0
	for name, call := range map[string]func() error{
		"Get":      func() error { i++; return sess.Get(ctx, i%RedisKeys) },
		"Set":      func() error { i++; return sess.Set(ctx, i%RedisKeys) },
		"GetBatch": func() error { return sess.GetBatch(ctx, keys) },
	} {
		for range 100 { // warm the pools
			if err := call(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		var callErr error
		allocs := testing.AllocsPerRun(200, func() {
			if err := call(); err != nil && callErr == nil {
				callErr = err
			}
		})
		if callErr != nil {
			t.Fatalf("%s: %v", name, callErr)
		}
		if allocs != 0 {
			t.Errorf("zerogc %s: %.2f allocs per call; want 0", name, allocs)
		}
	}
}
