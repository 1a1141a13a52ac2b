//go:build linux

package fileio_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/zerogc/zerogc/fileio/internal/uring"
	"golang.org/x/sys/unix"
)

// BenchmarkWarmFloor is what a warm 4 KiB read costs with no fileio at
// all, on every P at once (RunParallel, one goroutine per P): the floor
// under BenchmarkRead's 4KiB rows. One op is one read of the same cached
// 4 KiB file.
//
//   - syscalls: openat, fstat, pread, close on the calling goroutine,
//     the system calls a worker of the workers backend makes per read,
//     without its hand-offs.
//   - uring-chain-K: each goroutine owns a ring and submits K reads per
//     io_uring_enter, each a linked chain openat (into a direct
//     descriptor) + read + close, then waits for all of them: io_uring's
//     batching with no hand-off between goroutines, no bookkeeping per
//     read, and no end-of-file check (a ReadInto also asks whether the
//     file is larger than the buffer, by fstat or by a probe read), so a
//     lower bound for the io_uring backend.
//
// cpu-ns/op is the process's CPU time per read, as in BenchmarkRead.
func BenchmarkWarmFloor(b *testing.B) {
	p := filepath.Join(b.TempDir(), "4KiB")
	const size = 4 << 10
	if err := os.WriteFile(p, pattern(size, 1), 0o644); err != nil {
		b.Fatal(err)
	}
	path, err := unix.BytePtrFromString(p)
	if err != nil {
		b.Fatal(err)
	}
	fdcwd := int64(unix.AT_FDCWD)
	atFDCWD := uintptr(fdcwd)
	b.Run("syscalls", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, size)
			var st unix.Stat_t
			for pb.Next() {
				// openat by hand: unix.Open would convert the path (an
				// allocation) on every call.
				fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(path)), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
				if errno != 0 {
					b.Error("openat:", errno)
					return
				}
				if err := unix.Fstat(int(fd), &st); err != nil {
					b.Error("fstat:", err)
				}
				if n, err := unix.Pread(int(fd), buf, 0); n != size || err != nil {
					b.Errorf("pread: %d bytes, %v", n, err)
				}
				_ = unix.Close(int(fd))
			}
		})
	})
	for _, k := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("uring-chain-%d", k), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			defer reportCPU(b, processCPU())
			b.RunParallel(func(pb *testing.PB) { ringFloor(b, pb, path, size, k) })
		})
	}
}

// ringFloor runs one goroutine's share of BenchmarkWarmFloor's
// uring-chain rows: batches of k chained reads on a ring of its own.
func ringFloor(b *testing.B, pb *testing.PB, path *byte, size, k int) {
	ring, err := uring.New(uint32(4 * k))
	if err != nil {
		b.Skip("io_uring unavailable:", err)
	}
	defer ring.Close()
	if err := ring.RegisterSparseFiles(uint32(k)); err != nil {
		b.Skip("no direct descriptors:", err)
	}
	// The kernel holds these while a batch is out, as fileio pins its own.
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(path)
	bufs := make([][]byte, k)
	for i := range bufs {
		bufs[i] = make([]byte, size)
		pin.Pin(&bufs[i][0])
	}
	for {
		n := 0
		for n < k && pb.Next() {
			e := ring.NextSQE()
			uring.PrepOpenatDirect(e, unix.AT_FDCWD, path, unix.O_RDONLY, 0, uint32(n), 1)
			e.Flags |= uring.FlagLink
			e = ring.NextSQE()
			uring.PrepRead(e, int32(n), &bufs[n][0], uint32(size), 0, 2)
			e.Flags |= uring.FlagFixedFile | uring.FlagHardlink
			uring.PrepCloseDirect(ring.NextSQE(), uint32(n), 3)
			n++
		}
		if n == 0 {
			return
		}
		if _, err := ring.Enter(uint32(3 * n)); err != nil {
			b.Error(err)
			return
		}
		for got := 0; got < 3*n; {
			c := ring.PeekCQE()
			if c == nil {
				if _, err := ring.Enter(1); err != nil {
					b.Error(err)
					return
				}
				continue
			}
			if c.UserData == 2 && c.Res != int32(size) || c.Res < 0 {
				b.Errorf("request %d: result %d", c.UserData, c.Res)
			}
			ring.AdvanceCQ()
			got++
		}
	}
}
