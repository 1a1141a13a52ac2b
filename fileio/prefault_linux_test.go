//go:build linux

package fileio

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"unsafe"

	"github.com/zerogc/zerogc/vtask"
	"golang.org/x/sys/unix"
)

// TestUringFreshBufferFaultsOffTheLoop: a large ReadInto into a buffer
// no one has written yet reaches a ring's loop with its pages faulted in
// on the calling goroutine, so the loop thread, which would take them one
// after another, takes at most the two pages at the buffer's ends instead
// of one per page (256 per MiB). The control run, with prefault off, shows
// the loop taking them, so the check can fail. The loops are locked to
// their threads here so that each thread's fault count in /proc is its
// loop's.
func TestUringFreshBufferFaultsOffTheLoop(t *testing.T) {
	const size, reads, inflight = 1 << 20, 24, 4
	p := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte("fresh"), size/5+1)[:size]
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(populate bool) (faults, started int) {
		uringLockThread = true
		r, err := New(WithBackend(Uring), WithRings(2), WithMaxInFlight(inflight))
		uringLockThread = false
		if err != nil {
			t.Skip(err)
		}
		defer r.Close()
		if !r.inline {
			// The caller's open that prefaults is an inline one.
			t.Skip("inline reads are off in this run (WithInlineReads(false), a child run, or a kernel without openat2)")
		}
		rings := ringsOf(r)
		if len(rings) != 2 {
			t.Skipf("%d rings", len(rings))
		}
		loopFaults := func() int {
			n := 0
			for _, b := range rings {
				n += minorFaults(t, int(b.tid.Load()))
			}
			return n
		}
		noPopulate.Store(!populate)
		defer noPopulate.Store(false)
		// Two reads held (an empty file goes to a ring, and its result
		// stays unconsumed until the end), so that the large reads are
		// not copied inline on this goroutine but go to the rings.
		var held [2]vtask.Task[int]
		for i := range held {
			held[i] = r.ReadInto(context.Background(), empty, make([]byte, 8))
		}
		defer func() {
			for _, h := range held {
				if n, err := h.Await(); n != 0 || err != nil {
					t.Errorf("empty file: %d bytes, %v", n, err)
				}
			}
		}()
		before := loopFaults()
		var tasks [inflight]vtask.Task[int]
		var bufs [inflight][]byte
		finish := func(k int) {
			n, err := tasks[k].Await()
			if err != nil || n != size || !bytes.Equal(bufs[k], want) {
				t.Fatalf("read %d bytes, %v", n, err)
			}
			if err := unix.Munmap(bufs[k]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range reads {
			k := i % inflight
			if i >= inflight {
				finish(k)
			}
			buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
			if err != nil {
				t.Fatal(err)
			}
			bufs[k] = buf
			tasks[k] = r.ReadInto(context.Background(), p, buf)
			if !tasks[k].IsImmediate() {
				started++ // handed to a ring, not read inline
			}
		}
		for i := reads - inflight; i < reads; i++ {
			finish(i % inflight)
		}
		faults = loopFaults() - before
		if populate && noPopulate.Load() {
			t.Skip("the kernel refuses mincore or MADV_POPULATE_WRITE (Linux 5.14)")
		}
		return faults, started
	}
	faults, started := run(true)
	if started < reads/2 {
		t.Fatalf("only %d of %d reads went to the rings", started, reads)
	}
	if faults > 8*started {
		t.Errorf("the loops took %d page faults for %d fresh 1 MiB buffers (at most 2 per buffer expected)", faults, started)
	}
	ctlFaults, ctlStarted := run(false)
	if ctlFaults < 128*ctlStarted {
		t.Errorf("control without prefault: the loops took only %d page faults for %d fresh 1 MiB buffers; the test no longer sees where faults land", ctlFaults, ctlStarted)
	}
	t.Logf("page faults on the loops per read that reached them: %.1f with prefault, %.1f without",
		float64(faults)/float64(started), float64(ctlFaults)/float64(ctlStarted))
}

// minorFaults reads the minor page faults of thread tid of this process.
func minorFaults(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		t.Fatal(err)
	}
	// "tid (comm) state ppid pgrp session tty tpgid flags minflt ...":
	// minflt is the 7th field after the ')'.
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	n, err := strconv.Atoi(string(f[7]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestResidentAndPrefault: resident tells a fresh mapping from a written
// one, prefault makes a fresh one resident without changing a byte, and
// neither touches the pages at the ends that dst shares with other memory.
func TestResidentAndPrefault(t *testing.T) {
	const size = 64 << 10
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	if resident(m) {
		if noPopulate.Load() {
			t.Skip("the kernel refuses mincore")
		}
		t.Fatal("a fresh mapping reported resident")
	}
	// dst starts 100 bytes into the first page and ends 100 bytes into
	// the last: only the pages between are dst's alone.
	dst := m[100 : size-4096+100]
	prefault(dst)
	if noPopulate.Load() {
		t.Skip("the kernel refuses MADV_POPULATE_WRITE (Linux 5.14)")
	}
	if !resident(dst) {
		t.Fatal("not resident after prefault")
	}
	vec := make([]byte, size/4096)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), size, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal("mincore:", errno)
	}
	for i, v := range vec {
		whole := i >= 1 && i < len(vec)-1
		if (v&1 == 1) != whole {
			t.Errorf("page %d: resident %v, want %v", i, v&1 == 1, whole)
		}
	}
	for i, c := range m {
		if c != 0 {
			t.Fatalf("byte %d is %d after prefault", i, c)
		}
	}
	m[0], m[size-1] = 1, 1 // the end pages written too
	if !resident(m) {
		t.Fatal("a mapping written all over reported not resident")
	}
}
