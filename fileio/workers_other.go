//go:build !linux

package fileio

import (
	"io"
	"os"
	"sync"

	"github.com/zerogc/zerogc/vtask"
)

// workersBackend (portable version) runs each read as one job on a
// vtask.WorkerPool using package os; unlike the Linux version it allocates
// the *os.File of each read.
type workersBackend struct {
	r    *Reader
	pool *vtask.WorkerPool
	wg   sync.WaitGroup
}

func newWorkers(r *Reader, workers, slots int) backend {
	return &workersBackend{r: r, pool: vtask.NewWorkerPool(workers, slots)}
}

func (w *workersBackend) start(o *op) {
	w.wg.Add(1)
	w.pool.Execute(runJob, o)
}

func (w *workersBackend) cancel(o *op, ver uint32) {
	traceCancel(o, ver, "flag")
	o.cancelVer.Store(ver)
}

func (w *workersBackend) shutdown() {
	w.wg.Wait()
	w.pool.Close()
}

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
