//go:build unix

package fileio_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/vtask"
)

// BenchmarkRead reads one file (4 KiB or 1 MiB, in the page cache) over
// and over with a window of 1, 64 or 1024 reads in flight; one op is one
// read. Rows:
//
//   - uring, workers: Reader.ReadInto into caller buffers (the zero-
//     allocation path), issued from one goroutine.
//   - os-readfile: a goroutine per read running os.ReadFile, its result
//     sent on a channel made for the read (what Go code does by default).
//
// Metrics besides ns/op and allocs/op: threads is the process's OS thread
// count at the end of the row (/proc/self/status Threads, which includes
// io_uring's io-wq kernel workers). The Go runtime never ends its threads,
// so the count carries over to later rows: rows run in the order printed.
//
// To keep the 1 MiB × 1024 case memory-sane the Reader rows share 64
// destination buffers among the reads in flight (the bytes are identical,
// and nothing reads them), so at most 64 MiB is live; os.ReadFile
// allocates every result, up to 1 GiB live at 1024 in flight.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	sizes := []struct {
		name string
		n    int
	}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}}
	paths := map[string]string{}
	for _, s := range sizes {
		p := filepath.Join(dir, s.name)
		if err := os.WriteFile(p, pattern(s.n, 1), 0o644); err != nil {
			b.Fatal(err)
		}
		paths[s.name] = p
	}
	inflights := []int{1, 64, 1024}

	for _, be := range []fileio.Backend{fileio.Uring, fileio.Workers} {
		b.Run(be.String(), func(b *testing.B) {
			r, err := fileio.New(fileio.WithBackend(be), fileio.WithMaxInFlight(1024))
			if err != nil {
				b.Skip(err)
			}
			defer r.Close()
			for _, s := range sizes {
				for _, inflight := range inflights {
					b.Run(fmt.Sprintf("%s/inflight=%d", s.name, inflight), func(b *testing.B) {
						benchReader(b, r, paths[s.name], s.n, inflight)
					})
				}
			}
		})
	}
	b.Run("os-readfile", func(b *testing.B) {
		for _, s := range sizes {
			for _, inflight := range inflights {
				b.Run(fmt.Sprintf("%s/inflight=%d", s.name, inflight), func(b *testing.B) {
					benchOSReadFile(b, paths[s.name], s.n, inflight)
				})
			}
		}
	})
}

func benchReader(b *testing.B, r *fileio.Reader, path string, size, inflight int) {
	bufs := make([][]byte, min(inflight, 64))
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	tasks := make([]vtask.Task[int], inflight)
	ctx := context.Background()
	wait := func(t vtask.Task[int]) {
		if n, err := t.Await(); err != nil || n != size {
			b.Fatalf("read %d bytes, %v", n, err)
		}
	}
	// Warm the pool up to the window so that rows measure steady state.
	for i := range tasks {
		tasks[i] = r.ReadInto(ctx, path, bufs[i%len(bufs)])
	}
	for i := range tasks {
		wait(tasks[i])
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % inflight
		if i >= inflight {
			wait(tasks[k])
		}
		tasks[k] = r.ReadInto(ctx, path, bufs[k%len(bufs)])
	}
	for i := max(0, b.N-inflight); i < b.N; i++ {
		wait(tasks[i%inflight])
	}
	b.StopTimer()
	reportThreads(b)
}

type osResult struct {
	n   int
	err error
}

func benchOSReadFile(b *testing.B, path string, size, inflight int) {
	chans := make([]chan osResult, inflight)
	wait := func(ch chan osResult) {
		if r := <-ch; r.err != nil || r.n != size {
			b.Fatalf("read %d bytes, %v", r.n, r.err)
		}
	}
	start := func() chan osResult {
		ch := make(chan osResult, 1)
		go func() {
			data, err := os.ReadFile(path)
			ch <- osResult{len(data), err}
		}()
		return ch
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % inflight
		if i >= inflight {
			wait(chans[k])
		}
		chans[k] = start()
	}
	for i := max(0, b.N-inflight); i < b.N; i++ {
		wait(chans[i%inflight])
	}
	b.StopTimer()
	reportThreads(b)
}

func reportThreads(b *testing.B) {
	if n := procThreads(); n > 0 {
		b.ReportMetric(float64(n), "threads")
	}
}

// procThreads returns the Threads line of /proc/self/status, or 0.
func procThreads() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
