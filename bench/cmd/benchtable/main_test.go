package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func names(ws []workload) string {
	var out []string
	for _, wl := range ws {
		out = append(out, wl.name)
	}
	return strings.Join(out, ",")
}

func TestSelectWorkloadsExpandsRedis(t *testing.T) {
	sel, err := selectWorkloads("redis, RoundTrip, RedisMix")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(sel), "RedisGet,RedisMix,RedisBatch,RedisDeadline,RoundTrip"; got != want {
		t.Errorf("selected %s; want %s (the group expanded, no workload twice)", got, want)
	}
	if _, err := selectWorkloads("Redis,Nope"); err == nil || !strings.Contains(err.Error(), `"Nope"`) || !strings.Contains(err.Error(), "RedisDeadline") {
		t.Errorf("unknown workload: err = %v; want one naming it and listing the known ones", err)
	}
}

// withoutRedisServer puts PATH on an empty directory, so redis-server is
// not found.
func withoutRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
}

func TestCheckRedisWithoutServer(t *testing.T) {
	withoutRedisServer(t)
	t.Setenv("CI", "")
	var note strings.Builder
	sel, err := checkRedis(workloads, false, &note)
	if err != nil {
		t.Fatalf("default selection without redis-server: %v; want the Redis workloads left out", err)
	}
	if got, want := names(sel), "RoundTrip,FanOut,GCPressure"; got != want {
		t.Errorf("kept %s; want %s", got, want)
	}
	if !strings.Contains(note.String(), "apt-get install redis-server") {
		t.Errorf("note = %q; want it to say how to install redis-server", note.String())
	}
	if got := names(workloads); !strings.Contains(got, "RedisGet") {
		t.Errorf("checkRedis changed the workload table itself: %s", got)
	}

	named, _ := selectWorkloads("Redis")
	if _, err := checkRedis(named, true, &note); err == nil || !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Errorf("Redis asked for by name without redis-server: err = %v; want an error saying how to install it", err)
	}

	t.Setenv("CI", "true")
	if _, err := checkRedis(workloads, false, &note); err == nil {
		t.Error("CI=true without redis-server: want an error, not a silent skip")
	}
}

func TestCheckRedisWithServer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "redis-server"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	sel, err := checkRedis(workloads, false, &strings.Builder{})
	if err != nil || len(sel) != len(workloads) {
		t.Errorf("with redis-server on PATH: %d workloads, %v; want all %d, nil", len(sel), err, len(workloads))
	}
}
