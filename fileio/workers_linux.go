//go:build linux

package fileio

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// pollSlice is how long (ms) a pipe read waits before it checks again for
// a cancel or Close.
const pollSlice = 10

// runJob is the worker job; a top-level func with the op as its argument,
// so Execute needs no closure.
func runJob(arg any) {
	o := arg.(*op)
	w := o.r.be.(*workersBackend)
	fd := readBlocking(o)
	o.finish()
	// Close after completing, as the io_uring backend does: the caller
	// need not wait for it, and a failing close of a descriptor opened
	// read-only loses no data.
	if fd >= 0 {
		_ = unix.Close(fd)
	}
	w.wg.Done()
}

// stopNow reports why the read must stop now, or nil.
func stopNow(o *op) error {
	return o.stopReason(o.cancelVer.Load() == o.ver.Load())
}

// readBlocking does the read and returns the open descriptor (or -1),
// which the caller closes after completing the op.
func readBlocking(o *op) int {
	if err := stopNow(o); err != nil {
		o.fail("open", err)
		return -1
	}
	traceStep(EvSubmit, o, "open", 0)
	fd, err := openat(&o.cpath[0])
	traceStep(EvKernel, o, "open", fd)
	if err != nil {
		o.fail("open", err)
		return fd
	}
	err = unix.Fstat(fd, &o.sys.st)
	traceStep(EvKernel, o, "fstat", int(o.sys.st.Size))
	if err != nil {
		o.fail("stat", err)
		return fd
	}
	regular := o.sys.st.Mode&unix.S_IFMT == unix.S_IFREG
	if o.kind == kindFile {
		if size := int(o.sys.st.Size); regular && size > 0 {
			o.buf, o.exact = make([]byte, size), true
		} else {
			o.buf = make([]byte, 512)
		}
	}
	if !regular {
		if err := unix.SetNonblock(fd, true); err != nil {
			o.fail("read", err)
			return fd
		}
	}
	for {
		if err := stopNow(o); err != nil {
			o.fail("read", err)
			return fd
		}
		if o.n == len(o.buf) {
			if o.kind == kindInto || o.exact {
				return fd
			}
			nb := make([]byte, 2*len(o.buf))
			copy(nb, o.buf)
			o.buf = nb
		}
		chunk := o.buf[o.n:]
		if len(chunk) > maxChunk {
			chunk = chunk[:maxChunk]
		}
		traceStep(EvSubmit, o, "read", 0)
		m, err := unix.Read(fd, chunk)
		traceStep(EvKernel, o, "read", m)
		switch {
		case err == unix.EAGAIN:
			o.sys.pfd[0] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
			_, _ = unix.Poll(o.sys.pfd[:], pollSlice)
		case err == unix.EINTR:
		case err != nil:
			o.fail("read", err)
			return fd
		case m == 0:
			return fd
		default:
			o.n += m
		}
	}

}

var atFDCWD = unix.AT_FDCWD

// openat opens the NUL-terminated name at path read-only, without the
// string conversion (and allocation) of unix.Open.
func openat(path *byte) (int, error) {
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)), uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(fd), nil
	}
}
