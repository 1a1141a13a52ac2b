//go:build linux

package fileio_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/vtask"
	"golang.org/x/sys/unix"
)

// BenchmarkRead reads one file (4 KiB or 1 MiB, in the page cache) over
// and over with a window of 1, 64 or 1024 reads in flight; one op is one
// read. Each row (size/inflight) has one leaf per way of reading:
//
//   - uring, workers: Reader.ReadInto into caller buffers (the zero-
//     allocation path), issued from one goroutine.
//   - os-readfile: a goroutine per read running os.ReadFile, its result
//     sent on a channel made for the read (what Go code does by default).
//
// Metrics besides ns/op and allocs/op: cpu-ns/op is the CPU time, user
// and system, of all the process's threads per read (getrusage), which
// says what a read costs the machine whatever the number of cores (the
// cold rows' includes the benchmark's own posix_fadvise calls); threads
// is the process's OS thread count at the end of the row (/proc/self/status Threads, which includes
// io_uring's io-wq kernel workers). The Go runtime never ends its threads,
// so the count carries over to later rows: rows run in the order printed.
//
// Cold rows (cold-4KiB, cold-1MiB) read files evicted from the page
// cache: before each read the benchmark drops the file's pages with
// posix_fadvise(POSIX_FADV_DONTNEED) (the files were fsynced, so the pages
// are clean and the drop is honoured; ext4 here), so every read waits for
// the device. They rotate over min(inflight, 64) files, so a read rarely
// finds pages another read in flight brought in. busy-threads is the peak
// (busy-threads-mean the mean), sampled every 2 ms during the row, of the
// process's threads running or blocked in the kernel
// (/proc/self/task/*/stat state R or D, io-wq workers included; the
// sampler's own thread left out): the OS threads the reads and their
// caller actually occupy, unlike threads, which never shrinks.
// blocked-threads-mean is the mean of those in state D alone: threads
// held waiting in the kernel, as a worker is on a disk read.
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
	cold := map[string][]string{}
	for _, s := range sizes {
		for i := range 64 {
			p := filepath.Join(dir, fmt.Sprintf("cold-%s-%d", s.name, i))
			if err := writeSynced(p, pattern(s.n, byte(i))); err != nil {
				b.Fatal(err)
			}
			cold[s.name] = append(cold[s.name], p)
		}
	}

	readers := map[fileio.Backend]*fileio.Reader{}
	for _, be := range []fileio.Backend{fileio.Uring, fileio.Workers} {
		r, err := fileio.New(fileio.WithBackend(be), fileio.WithMaxInFlight(1024))
		if err != nil {
			b.Logf("%v rows skipped: %v", be, err)
			continue
		}
		defer r.Close()
		readers[be] = r
	}
	// Row by row, the backends' runs follow each other (with -count, each
	// leaf runs count times in a row), so that load drifting on a shared
	// machine moves the rows of one comparison together.
	for _, kind := range []string{"", "cold-"} {
		for _, s := range sizes {
			for _, inflight := range inflights {
				b.Run(fmt.Sprintf("%s%s/inflight=%d", kind, s.name, inflight), func(b *testing.B) {
					for _, be := range []fileio.Backend{fileio.Uring, fileio.Workers} {
						b.Run(be.String(), func(b *testing.B) {
							r := readers[be]
							if r == nil {
								b.Skip("backend unavailable")
							}
							if kind == "" {
								benchReader(b, r, []string{paths[s.name]}, s.n, inflight, false)
							} else {
								benchReader(b, r, cold[s.name][:min(inflight, 64)], s.n, inflight, true)
							}
						})
					}
					if kind == "" {
						b.Run("os-readfile", func(b *testing.B) {
							benchOSReadFile(b, paths[s.name], s.n, inflight)
						})
					}
				})
			}
		}
	}
}

// benchReader runs the Reader rows; with cold, each read's file is
// evicted from the page cache just before the read.
func benchReader(b *testing.B, r *fileio.Reader, paths []string, size, inflight int, cold bool) {
	fds := make([]int, len(paths))
	for i, p := range paths {
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		fds[i] = fd
	}
	drop := func(i int) {
		if cold {
			if err := unix.Fadvise(fds[i%len(fds)], 0, 0, unix.FADV_DONTNEED); err != nil {
				b.Fatal("posix_fadvise(DONTNEED):", err)
			}
		}
	}
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
		tasks[i] = r.ReadInto(ctx, paths[i%len(paths)], bufs[i%len(bufs)])
	}
	for i := range tasks {
		wait(tasks[i])
	}
	busy := startBusySampler()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % inflight
		if i >= inflight {
			wait(tasks[k])
		}
		drop(i)
		tasks[k] = r.ReadInto(ctx, paths[i%len(paths)], bufs[k%len(bufs)])
	}
	for i := max(0, b.N-inflight); i < b.N; i++ {
		wait(tasks[i%inflight])
	}
	b.StopTimer()
	reportCPU(b, cpu0)
	peak, mean, blocked := busy.stop()
	b.ReportMetric(float64(peak), "busy-threads")
	b.ReportMetric(mean, "busy-threads-mean")
	b.ReportMetric(blocked, "blocked-threads-mean")
	reportThreads(b)
}

// processCPU returns the CPU time, user and system, that every thread of
// the process has used so far (getrusage(RUSAGE_SELF)), in nanoseconds.
// io_uring's io-wq workers are threads of the process and count; so does
// the busy sampler's thread (one read of /proc/self/task every 2 ms).
func processCPU() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// reportCPU reports the process's CPU time since cpu0 (processCPU) per
// op as cpu-ns/op.
func reportCPU(b *testing.B, cpu0 int64) {
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// writeSynced writes data to p and fsyncs it, so that its pages are clean
// and POSIX_FADV_DONTNEED can drop them.
func writeSynced(p string, data []byte) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// busySampler records the peak number of the process's threads in state R
// (running) or D (blocked in the kernel, as in disk I/O). It reads /proc
// with raw system calls into buffers it owns, so it allocates nothing
// while sampling (the rows report allocations per read).
type busySampler struct {
	peak atomic.Int32
	// sum, sumD and samples are written by the sampler only; stop reads
	// them after done is closed.
	sum, sumD, samples int
	quit               chan struct{}
	done               chan struct{}
}

func startBusySampler() *busySampler {
	s := &busySampler{quit: make(chan struct{}), done: make(chan struct{})}
	// Allocated here, before the caller resets the benchmark timer: a
	// row with b.N = 1 would otherwise count them as the read's.
	dirBuf := make([]byte, 64<<10)
	statBuf := make([]byte, 512)
	path := make([]byte, 0, 64)
	t := time.NewTicker(2 * time.Millisecond)
	go func() {
		defer close(s.done)
		defer t.Stop()
		// The sampler's own thread is running whenever it samples: lock
		// the goroutine to it and leave it out, so that busy counts the
		// threads of the reads and of their caller only.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		self := unix.Gettid()
		for {
			n, d := countBusy(dirBuf, statBuf, path, self)
			if int32(n) > s.peak.Load() {
				s.peak.Store(int32(n))
			}
			s.sum += n
			s.sumD += d
			s.samples++
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak and the mean of the
// samples, and the mean of the threads in state D alone (blocked in the
// kernel, as on a disk read: a worker waiting for the device; io_uring's
// asynchronous buffered reads wait with no thread).
func (s *busySampler) stop() (peak int, mean, blocked float64) {
	close(s.quit)
	<-s.done
	if s.samples > 0 {
		mean = float64(s.sum) / float64(s.samples)
		blocked = float64(s.sumD) / float64(s.samples)
	}
	return int(s.peak.Load()), mean, blocked
}

// countBusy counts the entries of /proc/self/task whose stat shows state R
// or D, except thread self, and of those the ones in state D.
func countBusy(dirBuf, statBuf, path []byte, self int) (busy, blocked int) {
	dfd, err := openat(unix.AT_FDCWD, taskDir, unix.O_DIRECTORY)
	if err != nil {
		return 0, 0
	}
	defer unix.Close(dfd)
	for {
		n, err := unix.Getdents(dfd, dirBuf)
		if n <= 0 || err != nil {
			return busy, blocked
		}
		for off := 0; off < n; {
			reclen := int(dirBuf[off+16]) | int(dirBuf[off+17])<<8
			name := dirBuf[off+19 : off+reclen]
			off += reclen
			if name[0] < '0' || name[0] > '9' || atoiZ(name) == self {
				continue
			}
			path = append(path[:0], name[:bytesIndexZero(name)]...)
			path = append(path, "/stat\x00"...)
			fd, err := openat(dfd, path, 0)
			if err != nil {
				continue
			}
			m, _ := unix.Read(fd, statBuf)
			unix.Close(fd)
			// "tid (comm) S ...": the state follows the last ')'.
			for j := m - 1; j > 0; j-- {
				if statBuf[j] == ')' {
					if j+2 < m && (statBuf[j+2] == 'R' || statBuf[j+2] == 'D') {
						busy++
						if statBuf[j+2] == 'D' {
							blocked++
						}
					}
					break
				}
			}
		}
	}
}

// atoiZ parses the NUL-terminated decimal number at the start of b.
func atoiZ(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func bytesIndexZero(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

var taskDir = []byte("/proc/self/task\x00")

// openat opens the NUL-terminated path under dirfd for reading without
// converting it to a string (which would allocate).
func openat(dirfd int, path []byte, flags int) (int, error) {
	fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])), uintptr(unix.O_RDONLY|unix.O_CLOEXEC|flags), 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
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
	cpu0 := processCPU()
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
	reportCPU(b, cpu0)
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

// BenchmarkReadFreshBuffers reads a 1 MiB file (page cache) into
// destination buffers no one has touched yet: each read gets a new
// anonymous mapping (munmapped after the read), so the read itself takes
// every page fault, 256 per read. With prefault, the submitting goroutine
// writes one byte per page before ReadInto. One op is one read; 64 in
// flight.
func BenchmarkReadFreshBuffers(b *testing.B) {
	const size, inflight = 1 << 20, 64
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, pattern(size, 9), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, be := range []fileio.Backend{fileio.Uring, fileio.Workers} {
		for _, prefault := range []bool{false, true} {
			name := be.String()
			if prefault {
				name += "/prefault"
			}
			b.Run(name, func(b *testing.B) {
				r, err := fileio.New(fileio.WithBackend(be), fileio.WithMaxInFlight(inflight))
				if err != nil {
					b.Skip(err)
				}
				defer r.Close()
				tasks := make([]vtask.Task[int], inflight)
				bufs := make([][]byte, inflight)
				ctx := context.Background()
				finish := func(k int) {
					if n, err := tasks[k].Await(); err != nil || n != size {
						b.Fatalf("read %d bytes, %v", n, err)
					}
					if err := unix.Munmap(bufs[k]); err != nil {
						b.Fatal(err)
					}
				}
				b.SetBytes(size)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					k := i % inflight
					if i >= inflight {
						finish(k)
					}
					buf, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
					if err != nil {
						b.Fatal(err)
					}
					if prefault {
						for j := 0; j < size; j += 4096 {
							buf[j] = 0
						}
					}
					bufs[k] = buf
					tasks[k] = r.ReadInto(ctx, p, buf)
				}
				for i := max(0, b.N-inflight); i < b.N; i++ {
					finish(i % inflight)
				}
				b.StopTimer()
				reportThreads(b)
			})
		}
	}
}
