//go:build linux

package fileio_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkColdPread is the disk path's own rate, with no fileio at all:
// eight goroutines (four per P on two cores) read 64 files of 1 MiB whole
// with pread, each file's pages dropped from the page cache
// (posix_fadvise(POSIX_FADV_DONTNEED)) just before its read, as
// BenchmarkRead's cold rows do. One op is one 1 MiB read. With willneed,
// each read is preceded by posix_fadvise(POSIX_FADV_WILLNEED) over the
// whole file, which starts the readahead of all of it at once. It tells
// whether a cold row of BenchmarkRead is bound by the device and the page
// cache (both backends at this rate) or by the way the reads are issued.
func BenchmarkColdPread(b *testing.B) {
	dir := b.TempDir()
	const size, files = 1 << 20, 64
	fds := make([]int, files)
	for i := range fds {
		p := filepath.Join(dir, fmt.Sprintf("cold-%d", i))
		if err := writeSynced(p, pattern(size, byte(i))); err != nil {
			b.Fatal(err)
		}
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		fds[i] = fd
	}
	for _, willneed := range []bool{false, true} {
		name := "plain"
		if willneed {
			name = "willneed"
		}
		b.Run(name, func(b *testing.B) {
			var next atomic.Int64
			b.SetBytes(size)
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, size)
				for pb.Next() {
					fd := fds[next.Add(1)%files]
					if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
						b.Error("posix_fadvise(DONTNEED):", err)
						return
					}
					if willneed {
						if err := unix.Fadvise(fd, 0, size, unix.FADV_WILLNEED); err != nil {
							b.Error("posix_fadvise(WILLNEED):", err)
							return
						}
					}
					for n := 0; n < size; {
						m, err := unix.Pread(fd, buf[n:], int64(n))
						if err != nil || m == 0 {
							b.Errorf("pread: %d bytes, %v", m, err)
							return
						}
						n += m
					}
				}
			})
		})
	}
}
