package fileio

import (
	"sync"

	"github.com/zerogc/zerogc/vtask"
)

// workersBackend runs each read as one job on a vtask.WorkerPool: the
// job opens, stats, reads and closes the file with blocking calls and
// completes the op. On Linux, pipes and FIFOs are read in non-blocking mode with
// a short poll so that a cancel or Close is noticed within pollSlice;
// regular files are read in chunks of at most maxChunk, checking for a
// cancel or Close between chunks.
type workersBackend struct {
	r    *Reader
	pool *vtask.WorkerPool
	wg   sync.WaitGroup // jobs not yet finished
}

// The job itself, runJob, is per platform: workers_linux.go reads with raw
// system calls and allocates nothing; workers_other.go uses package os and
// allocates the *os.File of each read.

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
