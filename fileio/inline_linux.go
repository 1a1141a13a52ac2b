//go:build linux

package fileio

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What readInline did with a ReadInto.
type inlineState uint8

const (
	inlineNone      inlineState = iota // nothing: the read starts on the ring
	inlineDone                         // buf holds the whole file
	inlineTruncated                    // buf is full and the file is larger
	inlineOpened                       // the file is open (fd): the ring reads the rest
)

// resolveCached is RESOLVE_CACHED (linux/openat2.h, Linux 5.12): the
// lookup fails with EAGAIN instead of waiting for anything not in the
// dentry cache (a disk read, a network file system's revalidation).
const resolveCached = 0x20

// When readInline is tried: while fewer than inlineQuiet reads are in
// flight, and for a read of at least inlineLargeMin bytes at any depth.
// With many small reads in flight one io_uring_enter carries a batch of
// them, cheaper than four system calls each on the caller;
// BenchmarkUringInlineAB measured inline/ring (time) 0.47 at 4 KiB × 1,
// 1.21 at × 64 and 1.23 at × 1,024; for 1 MiB, where the copy dominates,
// 0.71 at × 1, 0.97 at × 64 and 0.72 at × 1,024.
//
// The depth is the ops held (Reader.held): reads in progress and completed
// reads not yet consumed. An inline read holds none, so a caller that
// starts many reads before consuming any would find each time that the
// last one is already done and go inline for ever, and the batch would
// never form (4 KiB × 64 in BenchmarkRead: 4.6 µs per read against 3.3 µs
// through the ring). So every inlineBreak-th small read at low depth goes
// through the ring: a caller keeping at least inlineQuiet × inlineBreak
// reads going then holds inlineQuiet of those and stays on the ring, while
// a caller that waits for each read pays the ring's round trip (the loop
// asleep: tens of µs) on one read in inlineBreak
// (TestInlineDoesNotSwallowDepth). Measured interleaved against the
// policy before (by reads in progress, fewer than 4), uring µs per read:
// 4 KiB × 1 4.9 → 5.6-6.2, × 64 4.6 → 3.3, × 1,024 4.8 → 3.5; 1 MiB rows
// unchanged. inlineBreak 8 with inlineQuiet 4 gave × 64 3.7 and × 1,024
// 3.9 but 4 KiB × 1 6.6.
//
// At depth (inlineQuiet or more held), one small read in inlineDeepEvery
// is tried inline as well. A caller that keeps many reads going waits
// for its oldest most of the time (parked in Await for 57% of a 4 KiB ×
// 1,024 run in an execution trace) while the rings' loops do the
// kernel's work; doing every fourth read itself, in four system calls
// that cost less CPU than a read through the ring, takes a quarter of
// the loops' work onto a goroutine that was mostly waiting. Measured in
// BenchmarkRead (one test binary, FILEIO_TEST_URING_INLINEDEEP=1 and =0
// alternating, six rounds of 10^6 reads), uring µs per read at 4 KiB ×
// 1,024: 1.94-2.62, median 2.34, against 1.92-2.88, median 2.67
// (uring/workers medians 0.77 and 0.86); at × 64 0.70 against 0.73.
// Every second read (2.69-3.03 µs) was slower than none; every third and
// every eighth between. A try that misses the page cache hands its open
// descriptor to the ring, which then costs the loop another fstat: cold
// 4 KiB × 1,024 took 1.3-1.9× the time with every fourth read tried, so
// after a miss the next inlineDeepSkip deep reads are not tried.
const (
	inlineLargeMin  = 256 << 10
	inlineQuiet     = 2
	inlineBreak     = 32
	inlineDeepEvery = 4
	inlineDeepSkip  = 256
)

// uringInlineDeep: io_uring Readers try one small read in
// inlineDeepEvery inline at depth too.
var uringInlineDeep = true

// inlineMaxPath bounds the names readInline copies onto its stack; longer
// ones take the ring.
const inlineMaxPath = 512

// uringInline is the default of WithInlineReads for new io_uring Readers
// (tests switch it off to run the table on the ring alone).
var uringInline = true

// uringLargeAsync is the default of Reader.largeAsync. Off: with 64 and
// 1,024 reads of 1 MiB in flight, BenchmarkUringLargeAsyncAB measured
// io-wq/inline 1.04 and 1.00 (time), 1.03 and 0.99 (CPU), a tie, and
// io-wq copies cost threads: uncapped, 41.5 busy threads at cold 1 MiB ×
// 1,024 in BenchmarkRead (pages evicted between cachestat and the read
// leave workers blocked on the disk).
var uringLargeAsync = false

// inlineUnavailable is set when the kernel refuses openat2 or
// RESOLVE_CACHED (ENOSYS, EINVAL before 5.12, EPERM from a seccomp
// filter): readInline is not tried again.
var inlineUnavailable atomic.Bool

// readInline tries a ReadInto on the calling goroutine without waiting for
// the device, as io_uring first tries each request inline: openat2 with
// RESOLVE_CACHED and O_NONBLOCK (what the kernel's own inline openat
// uses), fstat, and preadv2 with RWF_NOWAIT, which copies what the page
// cache holds and fails with EAGAIN rather than wait for the disk. A
// regular file wholly in the page cache is read and closed here, and the
// read completes synchronously (inlineDone or inlineTruncated): no op, no
// loop round trip, no thread hand-off. Anything else comes back as
// inlineNone (the lookup needs the disk: nothing was opened) or
// inlineOpened with fd open, O_NONBLOCK cleared again as the kernel's
// inline openat does, and n bytes already in buf: the ring reads the rest
// (pages not cached, a FIFO, a device, a /proc file, a read larger than
// one request). No system call here waits for I/O.
//
// With onlyCached (a large read while others are in flight), the file is
// read only if cachestat (Linux 6.5) finds the whole range in the page
// cache; otherwise it is handed over at once. preadv2 with RWF_NOWAIT
// starts the readahead of pages it does not find, and with many reads in
// flight that submission can wait for the device's queue on the caller:
// in one BenchmarkRead run, cold 1 MiB × 1,024 reads took 0.7 s each
// now and then.
func readInline(path string, buf []byte, onlyCached bool) (n int, fd int, st inlineState) {
	if len(path) >= inlineMaxPath || len(buf) == 0 || inlineUnavailable.Load() {
		return 0, -1, inlineNone
	}
	var name [inlineMaxPath]byte
	copy(name[:], path) // NUL-terminated: len(path) < len(name)
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK, Resolve: resolveCached}
	r, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(atFDCWD), uintptr(unsafe.Pointer(&name[0])),
		uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	if errno != 0 {
		switch errno {
		case unix.ENOSYS, unix.EINVAL, unix.EPERM:
			inlineUnavailable.Store(true)
		}
		// EAGAIN (not cached), or an error the ring's openat reports
		// as usual (and EMFILE waits there for a descriptor).
		return 0, -1, inlineNone
	}
	fd = int(r)
	var s unix.Stat_t
	if fstatRaw(fd, &s) != 0 || s.Mode&unix.S_IFMT != unix.S_IFREG || s.Size <= 0 {
		// A stream, a /proc file (size 0) or an empty file: the ring
		// has the rules for each.
		return 0, handOver(fd), inlineOpened
	}
	end := int(min(s.Size, int64(len(buf))))
	if end > maxChunk || onlyCached && !allCached(fd, end) {
		prefaultLarge(buf[:end])
		return 0, handOver(fd), inlineOpened
	}
	for n < end {
		iov := unix.Iovec{Base: &buf[n]}
		iov.SetLen(end - n)
		m, _, errno := unix.Syscall6(unix.SYS_PREADV2, uintptr(fd), uintptr(unsafe.Pointer(&iov)), 1, uintptr(n), 0, unix.RWF_NOWAIT)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			// EAGAIN: the rest is not in the page cache. Any other
			// error the ring's read meets again and reports. The
			// ring reads on at the file position: move it past
			// what was read here.
			if n > 0 {
				if _, _, errno := unix.Syscall(unix.SYS_LSEEK, uintptr(fd), uintptr(n), 0); errno != 0 {
					n = 0 // the ring reads it all again
				}
			}
			prefaultLarge(buf[n:end])
			return n, handOver(fd), inlineOpened
		}
		if m == 0 {
			break // the file shrank since fstat: end of file
		}
		n += int(m)
	}
	closeRaw(fd)
	if n == len(buf) && s.Size > int64(len(buf)) {
		return n, -1, inlineTruncated
	}
	return n, -1, inlineDone
}

// openInline opens a large ReadInto's file for the ring while other reads
// are in flight, without waiting (as readInline), and reports whether the
// whole read is in the page cache (cachestat, Linux 6.5): the ring then
// hands that read to an io-wq thread (IOSQE_ASYNC), so that page-cache
// copies run on several threads instead of one after the other on the
// loop, while a read that needs the disk stays an asynchronous buffered
// read, which holds no thread while it waits (io-wq threads blocked in
// disk reads grew the process to 137-186 threads in BenchmarkUringAsyncAB).
// fd is -1 when nothing was opened. Without wantCached, cachestat is not
// asked (cached is false). Either way, the pages of buf the file will fill
// are faulted in here (prefaultLarge), not on the loop.
func openInline(path string, buf []byte, wantCached bool) (fd int, cached bool) {
	if len(path) >= inlineMaxPath || inlineUnavailable.Load() {
		return -1, false
	}
	var name [inlineMaxPath]byte
	copy(name[:], path)
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK, Resolve: resolveCached}
	r, _, errno := unix.Syscall6(unix.SYS_OPENAT2, uintptr(atFDCWD), uintptr(unsafe.Pointer(&name[0])),
		uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	if errno != 0 {
		return -1, false
	}
	fd = int(r)
	var s unix.Stat_t
	if fstatRaw(fd, &s) != 0 || s.Mode&unix.S_IFMT != unix.S_IFREG || s.Size <= 0 {
		return handOver(fd), false
	}
	end := int(min(s.Size, int64(len(buf))))
	prefaultLarge(buf[:end])
	return handOver(fd), wantCached && allCached(fd, end)
}

// uringPrefault is the default of Reader.prefault: a large ReadInto with
// other reads held on a Reader with several rings is opened on the caller
// (openInline), which prefaults its buffer, rather than handed to its ring
// unopened. BenchmarkUringPrefaultAB turns it off.
var uringPrefault = true

// prefaultLarge prefaults dst, the part of a ReadInto's buffer that the
// ring will fill, when it is large enough for the faults to matter: a
// small read takes a fault or two, which mincore would cost as much as.
func prefaultLarge(dst []byte) {
	if len(dst) >= inlineLargeMin {
		prefault(dst)
	}
}

// allCached reports whether cachestat finds the first n bytes of fd in the
// page cache (false where the kernel lacks cachestat).
func allCached(fd, n int) bool {
	if noCachestat.Load() {
		return false
	}
	rng := [2]uint64{0, uint64(n)} // struct cachestat_range
	var cs [5]uint64               // struct cachestat: nr_cache first
	_, _, errno := unix.Syscall6(unix.SYS_CACHESTAT, uintptr(fd), uintptr(unsafe.Pointer(&rng)), uintptr(unsafe.Pointer(&cs)), 0, 0, 0)
	if errno != 0 {
		if errno == unix.ENOSYS || errno == unix.EPERM {
			noCachestat.Store(true)
		}
		return false
	}
	pages := (rng[1] + uint64(os.Getpagesize()) - 1) / uint64(os.Getpagesize())
	return cs[0] >= pages
}

// noCachestat is set when the kernel lacks cachestat (before 6.5).
var noCachestat atomic.Bool

// handOver clears O_NONBLOCK on fd, so that the ring's reads behave as on
// a descriptor its own openat opened, and returns fd.
func handOver(fd int) int {
	// The status flags are O_RDONLY | O_NONBLOCK (O_CLOEXEC is a
	// descriptor flag): setting none clears O_NONBLOCK.
	_, _, _ = unix.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_SETFL, 0)
	return fd
}

// closeInlineFd closes a descriptor readInline opened whose op never
// reached the ring (the Reader was closed meanwhile).
func closeInlineFd(fd int32) { closeRaw(int(fd)) }

// The system calls of the inline reads, raw: the wrappers of x/sys/unix
// turn an errno into an error interface, which zerogc check counts as a
// possible allocation on ReadInto's path.

func closeRaw(fd int) { _, _, _ = unix.Syscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

func fstatRaw(fd int, st *unix.Stat_t) unix.Errno {
	_, _, errno := unix.Syscall(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(st)), 0)
	return errno
}
