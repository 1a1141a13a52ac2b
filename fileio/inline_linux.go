//go:build linux

package fileio

import (
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

// inlineMaxPath bounds the names readInline copies onto its stack; longer
// ones take the ring.
const inlineMaxPath = 512

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
func readInline(path string, buf []byte) (n int, fd int, st inlineState) {
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
	if unix.Fstat(fd, &s) != nil || s.Mode&unix.S_IFMT != unix.S_IFREG || s.Size <= 0 {
		// A stream, a /proc file (size 0) or an empty file: the ring
		// has the rules for each.
		return 0, handOver(fd), inlineOpened
	}
	end := int(min(s.Size, int64(len(buf))))
	if end > maxChunk {
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
				if _, err := unix.Seek(fd, int64(n), 0); err != nil {
					n = 0 // the ring reads it all again
				}
			}
			return n, handOver(fd), inlineOpened
		}
		if m == 0 {
			break // the file shrank since fstat: end of file
		}
		n += int(m)
	}
	_ = unix.Close(fd)
	if n == len(buf) && s.Size > int64(len(buf)) {
		return n, -1, inlineTruncated
	}
	return n, -1, inlineDone
}

// handOver clears O_NONBLOCK on fd, so that the ring's reads behave as on
// a descriptor its own openat opened, and returns fd.
func handOver(fd int) int {
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFL, fl&^unix.O_NONBLOCK)
	}
	return fd
}

// closeInlineFd closes a descriptor readInline opened whose op never
// reached the ring (the Reader was closed meanwhile).
func closeInlineFd(fd int32) { _ = unix.Close(int(fd)) }
