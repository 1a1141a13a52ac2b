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
