//go:build !linux

package fileio

import (
	"io"
	"os"
)

func runJob(arg any) {
	o := arg.(*op)
	w := o.r.be.(*workersBackend)
	readPortable(o)
	o.finish()
	w.wg.Done()
}

func readPortable(o *op) {
	stop := func() error { return o.stopReason(o.cancelVer.Load() == o.ver.Load()) }
	if err := stop(); err != nil {
		o.fail("open", err)
		return
	}
	f, err := os.Open(o.path)
	if err != nil {
		o.err = err
		return
	}
	defer f.Close()
	if o.kind == kindFile {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
			o.buf, o.exact = make([]byte, fi.Size()), true
		} else {
			o.buf = make([]byte, 512)
		}
	}
	for {
		if err := stop(); err != nil {
			o.fail("read", err)
			return
		}
		if o.n == len(o.buf) {
			if o.kind == kindInto || o.exact {
				return
			}
			nb := make([]byte, 2*len(o.buf))
			copy(nb, o.buf)
			o.buf = nb
		}
		chunk := o.buf[o.n:]
		if len(chunk) > maxChunk {
			chunk = chunk[:maxChunk]
		}
		m, err := f.Read(chunk)
		o.n += m
		if err == io.EOF {
			return
		}
		if err != nil {
			o.err = err
			return
		}
	}
}
