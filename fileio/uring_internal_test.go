//go:build linux

package fileio

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// TestUringStatx covers the IORING_OP_STATX way of sizing whole files.
func TestUringStatx(t *testing.T) {
	uringStatx = true
	r, err := New(WithBackend(Uring))
	uringStatx = false
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	if !ring0(r).statx {
		t.Fatal("statx path not selected")
	}
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4096, 5 << 20} {
		want := bytes.Repeat([]byte{'z'}, size)
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadFile(context.Background(), p).Await()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
	if _, err := r.ReadFile(context.Background(), "/proc/self/maps").Await(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkReadFileSizing compares the two ways the io_uring backend can
// size a whole file: fstat on the loop (the default) and IORING_OP_STATX,
// which the kernel always runs on an io-wq thread. 64 ReadFiles of a 4 KiB
// file in flight; threads as in BenchmarkRead.
func BenchmarkReadFileSizing(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte{'s'}, 4096), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, statx := range []bool{false, true} {
		name := "fstat"
		if statx {
			name = "statx"
		}
		b.Run(name, func(b *testing.B) {
			uringStatx = statx
			r, err := New(WithBackend(Uring), WithMaxInFlight(64))
			uringStatx = false
			if err != nil {
				b.Skip(err)
			}
			defer r.Close()
			const window = 64
			var tasks [window]vtask.Task[[]byte]
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				k := i % window
				if i >= window {
					if _, err := tasks[k].Await(); err != nil {
						b.Fatal(err)
					}
				}
				tasks[k] = r.ReadFile(ctx, p)
			}
			for i := max(0, b.N-window); i < b.N; i++ {
				if _, err := tasks[i%window].Await(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n := threads(); n > 0 {
				b.ReportMetric(float64(n), "threads")
			}
		})
	}
}

func threads() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// TestUringKeepsOpMemoryPinnedUntilClose: the io_uring loop pins each op
// and its path buffer once (not per read), pins a path buffer again when
// a longer path made it grow, and unpins every op before Close returns.
func TestUringKeepsOpMemoryPinnedUntilClose(t *testing.T) {
	r, err := New(WithBackend(Uring), WithInlineReads(false), WithRings(2))
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	short := filepath.Join(dir, "f")
	long := filepath.Join(dir, strings.Repeat("d", 100), "f")
	for _, p := range []string{short, long} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 16)
	ctx := context.Background()
	for _, p := range []string{short, short, long, long, short} {
		// Four reads held at once, so that ops of both rings serve them.
		var tasks [4]vtask.Task[int]
		for i := range tasks {
			tasks[i] = r.ReadInto(ctx, p, buf[4*i:4*i+4])
		}
		for i, task := range tasks {
			if n, err := task.Await(); n != 4 || err != nil {
				t.Fatalf("read %d of %s: %d bytes, %v", i, p, n, err)
			}
		}
		// Await orders the loop's writes before these reads.
		for i := range uint32(r.created.Load()) {
			o := r.ops.get(i)
			if o.kept == nil || o.kept != &o.cpath[0] {
				t.Fatalf("after reading %s: op %d keeps %p pinned, its path buffer is %p", p, i, o.kept, &o.cpath[0])
			}
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range uint32(r.created.Load()) {
		if o := r.ops.get(i); o.kept != nil {
			t.Fatalf("op %d still keeps its memory pinned after Close", i)
		}
	}
}
