//go:build !linux

package fileio

import (
	"errors"
	"io"
	"os"
	"time"
)

// runJob is the portable worker job: package os opens and reads the file
// (it allocates the *os.File of each read). The open is abandonable as on
// Linux; a read of anything but a regular file or directory gives the
// worker slot away first, since it may wait for a writer.
func runJob(w *workersBackend, o *op) slotFate {
	fate := slotKept
	if err := stopNow(o); err != nil {
		o.fail("open", err)
		o.finish()
		return fate
	}
	ver := o.ver.Load()
	path := o.path
	w.beginOpen(o, ver)
	// Until endOpen, a cancel or Close may abandon the round at any
	// moment: touch nothing of o but its atomics.
	var f *os.File
	var err error
	stopped := w.stopping(o, ver)
	if !stopped {
		f, err = os.Open(path)
	}
	switch w.endOpen(o, ver) {
	case openAbandoned:
		if f != nil {
			_ = f.Close()
		}
		w.abandonedReturned()
		return slotAbandoned
	case openDetached:
		fate = slotGiven
	}
	if stopped {
		o.fail("open", stopNow(o))
		o.finish()
		return fate
	}
	if err != nil {
		o.err = err
		o.finish()
		return fate
	}
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		o.stream = true
		if fate == slotKept {
			w.replace()
			fate = slotGiven
		}
		o.streamRef.Store(&streamRef{f: f, ver: ver})
	} else if err == nil && o.kind == kindFile && fi.Size() > 0 {
		o.buf, o.exact = make([]byte, fi.Size()), true
	}
	readPortable(o, f)
	o.streamRef.Store(nil)
	o.finish()
	_ = f.Close()
	return fate
}

// stopNow reports why the read must stop now, or nil.
func stopNow(o *op) error {
	return o.stopReason(o.cancelVer.Load() == o.ver.Load())
}

func readPortable(o *op, f *os.File) {
	for {
		if err := stopNow(o); err != nil {
			o.fail("read", err)
			return
		}
		c := o.chunk(false)
		if c == nil {
			return
		}
		m, err := f.Read(c)
		if m > 0 && o.advance(m) {
			return
		}
		switch {
		case err == io.EOF:
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Interrupted by a cancel or Close: the loop's check
			// says which.
			_ = f.SetReadDeadline(time.Time{})
		case err != nil:
			o.err = err
			return
		}
	}
}
