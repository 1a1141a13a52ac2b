//go:build linux

package fileio

import (
	"errors"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runJob is the worker job for o: open, read, complete, close.
func runJob(w *workersBackend, o *op) slotFate {
	fate := slotKept
	fd := -1
	if err := stopNow(o); err != nil {
		o.fail("open", err)
		o.finish()
		return fate
	}
	ver := o.ver.Load()
	name := &o.cpath[0]
	traceStep(EvSubmit, o, "open", 0)
	w.beginOpen(o, ver)
	// Until endOpen, a cancel or Close may abandon the round at any
	// moment: touch nothing of o but its atomics.
	var err error
	stopped := w.stopping(o, ver)
	if !stopped {
		fd, err = openat(name)
	}
	switch w.endOpen(o, ver) {
	case openAbandoned:
		// The read was completed without us; o is no longer ours.
		if fd >= 0 {
			_ = unix.Close(fd)
		}
		w.abandonedReturned()
		return slotAbandoned
	case openDetached:
		fate = slotGiven
	}
	if stopped {
		err = stopNow(o)
	}
	traceStep(EvKernel, o, "open", fd)
	var f *os.File
	if err != nil {
		o.fail("open", err)
	} else if stream, fifo := readFile(o, fd); stream {
		// The read has to wait for a writer or for data: wait off
		// the worker slot.
		if fate == slotKept {
			w.replace()
			fate = slotGiven
		}
		f, fd = readStream(o, fd, fifo), -1
	}
	o.finish()
	// Close after completing, as the io_uring backend does: the caller
	// need not wait for it, and a failing close of a descriptor opened
	// read-only loses no data.
	if fd >= 0 {
		_ = unix.Close(fd)
	}
	if f != nil {
		_ = f.Close()
	}
	return fate
}

// stopNow reports why the read must stop now, or nil.
func stopNow(o *op) error {
	return o.stopReason(o.cancelVer.Load() == o.ver.Load())
}

// readFile reads the open descriptor fd on the worker. It returns stream
// true, leaving the rest to readStream, when the file is a FIFO, pipe,
// device or socket whose read would wait; fifo then tells that it must
// first wait for a writer (or for data).
func readFile(o *op, fd int) (stream, fifo bool) {
	if o.kind == kindFile {
		err := unix.Fstat(fd, &o.sys.st)
		traceStep(EvKernel, o, "fstat", int(o.sys.st.Size))
		if err != nil {
			o.fail("stat", err)
			return false, false
		}
		switch o.sys.st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			if size := int(o.sys.st.Size); size > 0 {
				o.buf, o.exact = make([]byte, size), true
			}
		case unix.S_IFIFO:
			return true, true
		case unix.S_IFCHR, unix.S_IFSOCK:
			return true, false
		}
	}
	for {
		if err := stopNow(o); err != nil {
			o.fail("read", err)
			return false, false
		}
		c := o.chunk(false)
		if c == nil {
			return false, false
		}
		traceStep(EvSubmit, o, "read", 0)
		m, err := unix.Read(fd, c)
		traceStep(EvKernel, o, "read", m)
		switch {
		case err == unix.EAGAIN && o.probing:
			// buf is full and the stream has nothing more now: it
			// has no end to compare with, so the read is complete.
			o.stream = true
			return false, false
		case err == unix.EAGAIN:
			return true, false
		case err == unix.EINTR:
		case err != nil:
			o.fail("read", err)
			return false, false
		case m == 0 && o.n == 0 && o.kind == kindInto && !o.probing:
			// Empty, or a FIFO that no writer has opened yet (which
			// reads as end of file in non-blocking mode): only the
			// type tells.
			if unix.Fstat(fd, &o.sys.st) == nil && o.sys.st.Mode&unix.S_IFMT == unix.S_IFIFO {
				return true, true
			}
			return false, false
		case m == 0:
			return false, false
		default:
			if o.advance(m) {
				return false, false
			}
		}
	}
}

// readStream finishes the read of a stream in the runtime's poller: the
// goroutine parks until the descriptor is readable, or until a cancel or
// Close sets a read deadline in the past (interrupt). With fifo it reads
// only when poll says the FIFO is readable: one without a writer reads as
// end of file, but is not readable (no POLLIN, no POLLHUP) until a writer
// comes. The check is a poll(2) that does not wait, not the poller's
// readiness: the poller drops an edge that came before the wait began,
// and a writer that wrote and left before then sends no second one. It
// returns the *os.File that now owns fd, for the caller to close.
func readStream(o *op, fd int, fifo bool) *os.File {
	f := os.NewFile(uintptr(fd), o.path)
	o.stream = true
	rc, err := f.SyscallConn()
	if err != nil {
		o.fail("read", err)
		return f
	}
	o.streamRef.Store(&streamRef{f: f, ver: o.ver.Load()})
	defer o.streamRef.Store(nil)
	read := func(fd uintptr) bool {
		if fifo && !readable(int(fd)) {
			return false
		}
		return readSome(o, int(fd))
	}
	for {
		// After the store above: a cancel or Close either is seen here
		// or finds the stream and interrupts the wait.
		if err := stopNow(o); err != nil {
			o.fail("read", err)
			return f
		}
		err := rc.Read(read)
		if err == nil {
			return f
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = f.SetReadDeadline(time.Time{})
			continue // the loop's check says why
		}
		o.fail("read", err)
		return f
	}
}

// readable reports whether poll(2) finds fd readable (or hung up) now.
func readable(fd int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || (n > 0 && pfd[0].Revents != 0)
	}
}

// readSome reads what the stream has; it returns false when the stream
// has nothing now (wait and call again), true when the read is over.
func readSome(o *op, fd int) bool {
	for {
		if err := stopNow(o); err != nil {
			o.fail("read", err)
			return true
		}
		c := o.chunk(false)
		if c == nil {
			return true
		}
		traceStep(EvSubmit, o, "read", 0)
		m, err := unix.Read(fd, c)
		traceStep(EvKernel, o, "read", m)
		switch {
		case err == unix.EAGAIN:
			return false
		case err == unix.EINTR:
		case err != nil:
			o.fail("read", err)
			return true
		case m == 0:
			return true
		default:
			if o.advance(m) {
				return true
			}
		}
	}
}

var atFDCWD = unix.AT_FDCWD

// openFlags open every file non-blocking: a FIFO's open then never waits
// for a writer, and regular files and block devices ignore the flag.
var openFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK

// openat opens the NUL-terminated name at path, without the string
// conversion (and allocation) of unix.Open.
func openat(path *byte) (int, error) {
	flags := openFlags
	for {
		fd, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)), uintptr(flags), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno == unix.EWOULDBLOCK && flags&unix.O_NONBLOCK != 0 {
			// A lease holder must be asked to give the file up
			// first: open waiting, as os.Open does.
			flags &^= unix.O_NONBLOCK
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		if flags&unix.O_NONBLOCK == 0 {
			// Opened waiting: make reads non-blocking all the same,
			// which readFile and readStream rely on.
			if err := unix.SetNonblock(int(fd), true); err != nil {
				_ = unix.Close(int(fd))
				return -1, err
			}
		}
		return int(fd), nil
	}
}
