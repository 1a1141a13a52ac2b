package sampler

import (
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab/server"
)

func TestParseRSS(t *testing.T) {
	status := "Name:\tzerogc\nVmPeak:\t  100 kB\nVmRSS:\t    9104 kB\nThreads:\t5\n"
	n, err := parseRSS([]byte(status))
	if err != nil || n != 9104<<10 {
		t.Fatalf("parseRSS = %d, %v; want %d", n, err, 9104<<10)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseRSS([]byte(bad)); err == nil {
			t.Errorf("parseRSS(%q) accepted", bad)
		}
	}
}

func TestCheckPID(t *testing.T) {
	if err := CheckPID(os.Getpid()); err != nil {
		t.Fatalf("own pid: %v", err)
	}
	for _, pid := range []int{0, -3} {
		if err := CheckPID(pid); err == nil {
			t.Errorf("CheckPID(%d) accepted", pid)
		}
	}
	// Above the kernel's pid_max (at most 2^22), so no such process exists.
	if err := CheckPID(1 << 30); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Fatalf("CheckPID of a missing process: %v", err)
	}
}

func TestSamplesOverTime(t *testing.T) {
	var heapCalls, progress atomic.Int64
	heap := func() (server.Metrics, error) {
		return server.Metrics{GCCycles: uint64(heapCalls.Add(1))}, nil
	}
	s, err := Start(Options{PID: os.Getpid(), Interval: 10 * time.Millisecond, Heap: heap, Progress: func() int64 { return progress.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	samples, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	// One at Start, one at Stop, and the ticks in between.
	if len(samples) < 3 {
		t.Fatalf("%d samples in 60ms at 10ms intervals", len(samples))
	}
	for i, sm := range samples {
		if sm.RSSBytes == 0 || sm.Heap == nil {
			t.Fatalf("sample %d incomplete: %+v", i, sm)
		}
		if i > 0 && (sm.At < samples[i-1].At || sm.Heap.GCCycles <= samples[i-1].Heap.GCCycles || sm.Requests <= samples[i-1].Requests) {
			t.Fatalf("samples out of order at %d: %+v after %+v", i, sm, samples[i-1])
		}
	}
	if int64(len(samples)) != heapCalls.Load() {
		t.Fatalf("%d samples but %d metric reads", len(samples), heapCalls.Load())
	}
}

func TestHeapErrorReported(t *testing.T) {
	boom := errors.New("boom")
	s, err := Start(Options{PID: os.Getpid(), Interval: time.Hour, Heap: func() (server.Metrics, error) { return server.Metrics{}, boom }})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := s.Stop()
	if !errors.Is(err, boom) || len(samples) != 0 {
		t.Fatalf("Stop = %d samples, %v; want none and the heap error", len(samples), err)
	}
	if _, err := Start(Options{PID: os.Getpid()}); err == nil {
		t.Fatal("zero interval accepted")
	}
}
