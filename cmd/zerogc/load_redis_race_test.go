//go:build race

package main

import "testing"

// checkZeroAllocs checks nothing under -race: the race runtime makes
// sync.Pool drop objects on purpose, which allocates (see
// load_redis_alloc_test.go).
func checkZeroAllocs(*testing.T, map[string]any) {}
