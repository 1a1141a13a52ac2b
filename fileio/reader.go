// Package fileio reads files asynchronously on pooled vtask operations: a
// read is a vtask.Task backed by a reusable operation from the Reader's slot
// table, so in steady state a read allocates nothing beyond the caller's
// data, and no goroutine or OS thread is blocked per read.
//
// Two backends do the I/O:
//
//   - io_uring (Linux): a loop goroutine owns a ring, batches the openat,
//     statx, read and close requests of every read in flight on it into
//     one io_uring_enter call and routes each completion by its user_data
//     (slot index and slot version, never a Go pointer) back to the slot.
//     A Reader has one ring per P (at most 4; WithRings), each read going
//     to the ring of its slot, so that the kernel work of the reads runs
//     on more than one core.
//     An openat that fails with EMFILE or ENFILE while the Reader holds
//     descriptors of its own waits for one of them to close, so a low
//     RLIMIT_NOFILE slows reads down instead of failing them.
//   - workers: blocking reads run on a fixed number of worker goroutines.
//     It is chosen automatically when io_uring is missing or refused (old
//     kernel, seccomp, the io_uring_disabled sysctl). Files are opened
//     with O_NONBLOCK, so opening a FIFO never waits for a writer; a read
//     that has to wait (a FIFO, pipe or device without data, or an openat
//     that blocks anyway, as on a hung network mount) hands its worker
//     slot to a new goroutine, so it cannot starve other reads, and a
//     cancel or Close ends it at once.
//
// The backend is chosen by WithBackend, else by the environment variable
// ZEROGC_FILEIO_BACKEND (uring, workers or auto), else automatically;
// Reader.Backend reports the choice and Reader.FallbackReason why io_uring
// was not used.
//
// Reads that need no I/O complete synchronously and touch no pool: answers
// from the opt-in content cache (WithCache), and errors known up front (an
// empty path, a canceled context, a closed Reader).
//
// ReadInto reads until end of file: a buffer smaller than the file gets
// its first len(buf) bytes and an error matching ErrTruncated.
package fileio

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/zerogc/zerogc/vtask"
)

// EnvBackend is the environment variable that selects the backend when no
// WithBackend option is given: "uring", "workers" or "auto".
const EnvBackend = "ZEROGC_FILEIO_BACKEND"

// Backend names the I/O engine of a Reader.
type Backend uint8

const (
	// Auto picks io_uring when the kernel offers it and workers otherwise.
	Auto Backend = iota
	// Uring submits reads to the kernel's io_uring (Linux only).
	Uring
	// Workers runs blocking reads on a vtask.WorkerPool.
	Workers
)

// String returns "auto", "uring" or "workers".
func (b Backend) String() string {
	switch b {
	case Auto:
		return "auto"
	case Uring:
		return "uring"
	case Workers:
		return "workers"
	}
	//zerogc:allow only for an undefined Backend value
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// ParseBackend parses a backend name as accepted by ZEROGC_FILEIO_BACKEND.
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "uring", "io_uring", "iouring":
		return Uring, nil
	case "workers", "worker":
		return Workers, nil
	}
	return Auto, fmt.Errorf("fileio: unknown backend %q (want uring, workers or auto)", s)
}

// Errors returned by a Reader.
var (
	// ErrClosed is returned for reads started after Close and wrapped in
	// the error of every read that was in flight when Close was called.
	ErrClosed = errors.New("fileio: reader closed")
	// ErrEmptyPath is wrapped in the error of a read given an empty path.
	ErrEmptyPath = errors.New("empty path: give the name of a file to read")
	// ErrInvalidPath is wrapped in the error of a read whose path contains
	// a NUL byte, which no file name can contain. The *fs.PathError's Path
	// holds the name quoted as by strconv.Quote, so that printing the error
	// never prints the NUL byte.
	ErrInvalidPath = errors.New("path contains a NUL byte")
	// ErrTruncated is wrapped in the error of a ReadInto whose buffer is
	// smaller than the file; the buffer holds the file's first len(buf)
	// bytes.
	ErrTruncated = errors.New("file is larger than the buffer")
)

// maxPath is the longest path the kernel accepts (PATH_MAX - 1).
const maxPath = 4095

type config struct {
	backend     Backend
	backendSet  bool
	maxInFlight int
	workers     int
	cacheBytes  int64
	exec        vtask.Executor
	noInline    bool
	rings       int
	ringsSet    bool
}

// Option configures New.
type Option func(*config)

// WithBackend selects the backend; it overrides ZEROGC_FILEIO_BACKEND.
// Asking for Uring where io_uring is unavailable makes New fail.
func WithBackend(b Backend) Option {
	return func(c *config) { c.backend, c.backendSet = b, true }
}

// WithRings sets how many io_uring rings the Reader spreads its reads
// over, each served by its own loop goroutine, so that the kernel work of
// the reads (opens, page-cache copies, completions) runs on n cores.
// 0, the default, means one ring per P (runtime.GOMAXPROCS at New), at
// most 4; on a machine with one P that is one ring, as before. With more
// than one ring, a large ReadInto issued while other reads are held goes
// to a ring unread instead of being copied inline on the caller (see
// WithInlineReads). Each ring takes ring memory for the whole in-flight
// bound. Automatic, rings after the first that the kernel refuses are
// done without; asked for, they make io_uring unavailable (New fails with
// WithBackend(Uring), else falls back to workers). The workers backend ignores the
// option.
func WithRings(n int) Option {
	return func(c *config) { c.rings, c.ringsSet = n, n != 0 }
}

// WithMaxInFlight bounds the reads whose I/O is in progress at once
// (default 256, at most 65536). A read started while the bound is reached
// waits until one ends (back-pressure), or until its context is done or
// the Reader is closed. On the workers backend, a read canceled while
// blocked in openat keeps its place until openat returns, so the bound
// also bounds the opens left blocked in the kernel.
//
// Results waiting to be consumed do not count: each holds its pooled op
// until Await, AwaitContext or Result consumes it, and the Reader creates
// ops as needed, up to 65536 (then ErrTooManyHeld).
func WithMaxInFlight(n int) Option {
	return func(c *config) { c.maxInFlight = n }
}

// WithWorkers sets how many goroutines of the workers backend take new
// reads (default 4 × GOMAXPROCS, at most the in-flight bound). A read that
// waits on a stream, or whose open has blocked for 10-20 ms, hands its
// place to a new goroutine and ends its own when the read ends, so there
// may be more goroutines than this, never more taking new reads.
func WithWorkers(n int) Option {
	return func(c *config) { c.workers = n }
}

// WithCache enables a cache of whole-file contents of at most maxBytes.
// ReadFile fills it; ReadFile and ReadInto of a cached path then complete
// synchronously from memory. Only regular files whose contents had exactly
// the size the file reported are cached: /proc and sysfs files (which
// report 0 or 4096 whatever they hold), FIFOs and devices are read anew
// every time. The cache does not notice later changes to the files: call
// Forget or Purge when they change.
func WithCache(maxBytes int64) Option {
	return func(c *config) { c.cacheBytes = maxBytes }
}

// WithExecutor sets where continuations registered with
// Task.OnCompleted run. By default they run inline on the goroutine that
// completes the read (the io_uring loop or a worker): keep them short and
// never block in them, or pass an executor such as a vtask.WorkerPool.
func WithExecutor(e vtask.Executor) Option {
	return func(c *config) { c.exec = e }
}

// WithInlineReads(false) makes every ReadInto of an io_uring Reader go
// through the ring. By default (true) a ReadInto with fewer than 2 reads
// held (in progress, or done and not yet consumed; one small read in 32
// goes to the ring regardless, so that a caller keeping many reads going
// is seen as such), one small ReadInto in four with 2 or more held (a deep
// caller mostly waits for its oldest read; after such a try finds a file
// not all cached, none of the next 256), or of 256 KiB or more and wholly
// cached (cachestat), first tries the read on the calling
// goroutine with system calls that do not wait for the device (openat2
// with RESOLVE_CACHED, preadv2 with RWF_NOWAIT), as io_uring tries each
// request inline before it waits: a regular file of at most 4 MiB to
// read, wholly in the page cache, is read there and the task is complete
// when ReadInto returns (no pooled op, no loop round trip); anything else
// goes on through the ring, with the descriptor already open and the
// cached prefix already read. The file system's open itself is not made
// non-blocking: on FUSE it waits for the daemon. The workers backend
// ignores the option.
func WithInlineReads(on bool) Option {
	return func(c *config) { c.noInline = !on }
}

// backend is the engine behind a Reader.
type backend interface {
	// start hands a prepared op to the engine. Called with r.mu read-locked.
	start(o *op)
	// cancel asks the engine to stop op o if it still runs version ver.
	cancel(o *op, ver uint32)
	// shutdown fails the reads in flight with ErrClosed and returns when
	// the engine no longer touches any op or buffer.
	shutdown()
}

// Reader reads files asynchronously. It is safe for concurrent use. Close
// it to release its ring or workers.
type Reader struct {
	kind     Backend
	fallback string
	be       backend
	cache    *cache
	exec     vtask.Executor

	// mu orders starts against Close: a read holds it shared from the
	// closed check until its op is handed to the backend, so after Close
	// takes it exclusively no new op can reach the backend.
	mu      sync.RWMutex
	closed  atomic.Bool
	closeCh chan struct{}
	closeMu sync.Mutex // serializes Close
	inline  bool       // ReadInto tries readInline first (io_uring)
	// largeAsync: with other reads in flight, a large ReadInto is opened
	// inline and, if cached, copied on io-wq (openInline); otherwise it
	// is read inline like a lone one.
	largeAsync bool
	// ringsLarge: the io_uring backend has more than one ring, and a
	// large ReadInto with other reads held goes to its ring unread
	// (uringRingsLarge), whose loop copies it.
	ringsLarge bool
	// prefault: such a read is opened on the caller first, so that the
	// pages of its buffer are faulted in there (uringPrefault).
	prefault bool
	// deepShare: with inlineQuiet or more held, one small read in
	// inlineDeepEvery is tried inline too (uringInlineDeep at New).
	deepShare bool

	ops     opTable      // op index -> op
	created atomic.Int32 // ops created so far
	// inlineRun counts the small reads tried inline at low depth; every
	// inlineBreak-th goes through the ring instead (see inlineBreak).
	inlineRun atomic.Uint32
	// inlineDeep counts the small reads started with inlineQuiet or
	// more held; every inlineDeepEvery-th is tried inline on the caller
	// (see inlineDeepEvery).
	inlineDeep atomic.Uint32
	// deepSkip counts down the deep reads not tried inline after one
	// that missed the page cache.
	deepSkip atomic.Int32
	free     freeList      // ops ready for reuse
	inFlight chan struct{} // one token per read between launch and I/O end
	hits     atomic.Uint64
	misses   atomic.Uint64
}

// New returns a Reader with the given options.
func New(opts ...Option) (*Reader, error) {
	c := config{maxInFlight: 256}
	for _, o := range opts {
		o(&c)
	}
	if c.maxInFlight <= 0 {
		return nil, fmt.Errorf("fileio: WithMaxInFlight(%d): the bound must be at least 1", c.maxInFlight)
	}
	if c.maxInFlight > 1<<16 {
		return nil, fmt.Errorf("fileio: WithMaxInFlight(%d): at most 65536 reads can be in flight", c.maxInFlight)
	}
	if c.rings < 0 || c.rings > 1024 {
		return nil, fmt.Errorf("fileio: WithRings(%d): want 0 (one per P) to 1024 rings", c.rings)
	}
	if c.cacheBytes < 0 {
		return nil, fmt.Errorf("fileio: WithCache(%d): the size must not be negative", c.cacheBytes)
	}
	if !c.backendSet {
		if v, ok := os.LookupEnv(EnvBackend); ok {
			b, err := ParseBackend(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", EnvBackend, err)
			}
			c.backend = b
		}
	}
	if c.workers <= 0 {
		c.workers = 4 * runtime.GOMAXPROCS(0)
	}
	if c.workers > c.maxInFlight {
		c.workers = c.maxInFlight
	}
	r := &Reader{
		exec:     c.exec,
		closeCh:  make(chan struct{}),
		inFlight: make(chan struct{}, c.maxInFlight),
	}
	r.free.ops = make([]*op, 0, c.maxInFlight)
	if c.cacheBytes > 0 {
		r.cache = newCache(c.cacheBytes)
	}
	switch c.backend {
	case Uring:
		be, err := newUring(r, c.maxInFlight, c.rings)
		if err != nil {
			return nil, fmt.Errorf("fileio: backend uring requested but unavailable: %w (use workers)", err)
		}
		r.useUring(be, c.noInline)
	case Workers:
		r.kind, r.be = Workers, newWorkers(r, c.workers, c.maxInFlight)
	case Auto:
		be, err := newUring(r, c.maxInFlight, c.rings)
		if err != nil {
			r.fallback = err.Error()
			r.kind, r.be = Workers, newWorkers(r, c.workers, c.maxInFlight)
		} else {
			r.useUring(be, c.noInline)
		}
	default:
		return nil, fmt.Errorf("fileio: WithBackend(%v): unknown backend", c.backend)
	}
	return r, nil
}

// useUring makes be, an io_uring backend, r's engine, with inline reads
// unless noInline (WithInlineReads(false)) and the package's switches.
func (r *Reader) useUring(be backend, noInline bool) {
	r.kind, r.be = Uring, be
	r.inline, r.largeAsync = uringInline && !noInline, uringLargeAsync
	r.ringsLarge, r.prefault = multiRing(be), uringPrefault
	r.deepShare = uringInlineDeep
}

// Backend reports the backend the Reader uses (Uring or Workers).
func (r *Reader) Backend() Backend { return r.kind }

// FallbackReason explains why io_uring is not used when the backend was
// chosen automatically and fell back to workers; it is empty otherwise.
func (r *Reader) FallbackReason() string { return r.fallback }

// PoolStats reports how many reads reused a pooled operation (hits) and
// how many had to create one (misses). Ops are created while more reads
// are in flight or awaiting consumption than ever before, so misses ends
// up at the largest number of reads held at once.
func (r *Reader) PoolStats() (hits, misses uint64) { return r.hits.Load(), r.misses.Load() }

// ReadFile reads the whole named file. The task's value is a new slice
// holding the contents (the only allocation of the read, besides the cache
// copy when a cache is enabled). Errors are *fs.PathError values, so
// errors.Is(err, fs.ErrNotExist) works; a read canceled through ctx fails
// with an error matching ctx.Err().
func (r *Reader) ReadFile(ctx context.Context, path string) vtask.Task[[]byte] {
	if err := r.check(ctx, path); err != nil {
		traceSync(EvSyncError, path, 0, err)
		return vtask.FromError[[]byte](err)
	}
	var gen uint64
	if r.cache != nil {
		if b, ok := r.cache.get(path); ok {
			traceSync(EvSyncCache, path, len(b), nil)
			return vtask.FromResult(b)
		}
		gen = r.cache.generation()
	}
	o, err := r.acquire(ctx, path)
	if err != nil {
		traceSync(EvSyncError, path, 0, err)
		return vtask.FromError[[]byte](err)
	}
	o.prepare(kindFile, ctx, path, nil)
	o.cacheGen = gen
	t := o.bytes.Task()
	r.launch(o, ctx)
	return t
}

// ReadInto reads the named file from its start into buf and completes
// with the number of bytes read. In steady state it allocates nothing. buf
// must not be touched until the task completes. Errors are as for
// ReadFile.
//
// If the file holds more than len(buf) bytes, the read fails with a
// *fs.PathError wrapping ErrTruncated, and buf holds the file's first
// len(buf) bytes. To tell, a full buffer is followed by a one-byte read,
// which costs what the end-of-file read of a larger buffer costs. A
// stream (FIFO, pipe, device) has no end to compare with: its read ends
// without error when buf is full, or at end of file.
//
// On the io_uring backend a file wholly in the page cache may be read
// before ReadInto returns, on the calling goroutine, and the task is then
// already complete (see WithInlineReads). A read of 256 KiB or more that
// goes to the ring has the pages of buf that the file will fill and that
// are not yet in memory (a buffer never written) faulted in first, on the
// calling goroutine, so that the ring's loop does not take those faults
// one after another; buf's contents are not changed by it.
//
//zerogc:noalloc
func (r *Reader) ReadInto(ctx context.Context, path string, buf []byte) vtask.Task[int] {
	if err := r.check(ctx, path); err != nil {
		traceSync(EvSyncError, path, 0, err)
		return vtask.FromError[int](err)
	}
	if r.cache != nil {
		if n, ok, truncated := r.cache.copyTo(path, buf); ok {
			if truncated {
				//zerogc:allow a buffer smaller than the cached file: the error path
				err := &fs.PathError{Op: "read", Path: path, Err: ErrTruncated}
				traceSync(EvSyncCache, path, n, err)
				return vtask.FromError[int](err)
			}
			traceSync(EvSyncCache, path, n, nil)
			return vtask.FromResult(n)
		}
	}
	n, fd := 0, -1
	cached := false
	if r.inline {
		var st inlineState
		deep := r.held() >= inlineQuiet
		if !deep && r.inlineRun.Add(1)%inlineBreak != 0 {
			n, fd, st = readInline(path, buf, false)
		} else if deep && len(buf) < inlineLargeMin && r.deepShare && r.deepTurn() {
			// A deep caller spends most of its time waiting for its
			// oldest read while the loops do the kernel's work: this
			// share of its reads it does itself.
			n, fd, st = readInline(path, buf, false)
			if st != inlineDone {
				// Not all cached: files that miss the page cache are
				// better left to the ring (one more open and fstat on
				// the loop after this hand-over), so stop trying for a
				// while.
				r.deepSkip.Store(inlineDeepSkip)
			}
		} else if len(buf) >= inlineLargeMin && r.ringsLarge {
			// To the ring unread: the rings' loops copy on their cores.
			// A buffer with pages not yet resident (fresh) is opened
			// here first, so that the pages the file fills are faulted
			// in on this goroutine, not on a loop.
			if r.prefault && !resident(buf) {
				fd, _ = openInline(path, buf, false)
			}
			st = inlineOpened
		} else if len(buf) >= inlineLargeMin && !r.largeAsync {
			n, fd, st = readInline(path, buf, true)
		} else if len(buf) >= inlineLargeMin {
			fd, cached = openInline(path, buf, true)
			st = inlineOpened
		}
		switch st {
		case inlineDone:
			traceSync(EvSyncRead, path, n, nil)
			return vtask.FromResult(n)
		case inlineTruncated:
			//zerogc:allow a buffer smaller than the file: the error path
			err := &fs.PathError{Op: "read", Path: path, Err: ErrTruncated}
			traceSync(EvSyncRead, path, n, err)
			return vtask.FromError[int](err)
		}
	}
	o, err := r.acquire(ctx, path)
	if err != nil {
		if fd >= 0 {
			closeInlineFd(int32(fd))
		}
		traceSync(EvSyncError, path, 0, err)
		return vtask.FromError[int](err)
	}
	o.prepare(kindInto, ctx, path, buf)
	if fd >= 0 {
		// readInline opened the file and read its first n bytes.
		o.fd, o.n = int32(fd), n
	}
	o.cached = cached
	t := o.ints.Task()
	r.launch(o, ctx)
	return t
}

// held estimates the ops rented and not yet returned: reads whose I/O is
// in progress, and completed reads whose result the caller has not
// consumed yet. It is how the Reader sees that a caller keeps many reads
// going; the reads in progress alone (len(r.inFlight)) drop to none each
// time the loop completes a batch. Unlocked loads: an estimate.
func (r *Reader) held() int32 { return r.created.Load() - r.free.n.Load() }

// deepTurn reports whether this small read at depth is tried inline: one
// in inlineDeepEvery, except for the inlineDeepSkip deep reads after a
// try that missed the page cache.
func (r *Reader) deepTurn() bool {
	if r.deepSkip.Load() > 0 {
		r.deepSkip.Add(-1)
		return false
	}
	return r.inlineDeep.Add(1)%inlineDeepEvery == 0
}

// check returns the error a read fails with before any I/O, or nil.
func (r *Reader) check(ctx context.Context, path string) error {
	if r.closed.Load() {
		return ErrClosed
	}
	//zerogc:allow the caller's context
	if err := ctx.Err(); err != nil {
		return err
	}
	if path == "" {
		//zerogc:allow a bad path: the error path
		return &fs.PathError{Op: "open", Path: path, Err: ErrEmptyPath}
	}
	if strings.IndexByte(path, 0) >= 0 {
		// Quoted: printed raw, the NUL byte would garble a terminal or log.
		//zerogc:allow a bad path: the error path
		return &fs.PathError{Op: "open", Path: strconv.Quote(path), Err: ErrInvalidPath}
	}
	if len(path) > maxPath {
		//zerogc:allow a bad path: the error path
		return &fs.PathError{Op: "open", Path: path, Err: errNameTooLong}
	}
	return nil
}

// acquire takes an in-flight token (waiting while the bound is reached,
// until ctx ends or the Reader closes), then rents an op: a free one if
// any (hit), else a new one (miss). The token goes back when the op's I/O
// ends (finish); the op when its result is consumed (release).
func (r *Reader) acquire(ctx context.Context, path string) (*op, error) {
	select {
	case r.inFlight <- struct{}{}:
	default:
		select {
		case r.inFlight <- struct{}{}:
		//zerogc:allow the caller's context (only when the in-flight bound is reached)
		case <-ctx.Done():
			//zerogc:allow the caller's context ended
			return nil, ctx.Err()
		case <-r.closeCh:
			return nil, ErrClosed
		}
	}
	if o := r.free.pop(); o != nil {
		r.hits.Add(1)
		o.rented(true, path)
		return o, nil
	}
	n := r.created.Add(1) - 1
	if n >= maxOps {
		r.created.Add(-1)
		<-r.inFlight
		return nil, ErrTooManyHeld
	}
	//zerogc:allow a miss: one new op per in-flight slot; later reads reuse it
	o := newOp(r, uint32(n))
	//zerogc:allow a miss: the op table adds a chunk once per chunkOps ops
	r.ops.set(uint32(n), o)
	r.misses.Add(1)
	o.rented(false, path)
	return o, nil
}

// launch hands a prepared op to the backend, or fails it with ErrClosed
// when Close won the race.
func (r *Reader) launch(o *op, ctx context.Context) {
	r.mu.RLock()
	if r.closed.Load() {
		r.mu.RUnlock()
		if o.fd >= 0 {
			closeInlineFd(o.fd)
			o.fd = -1
		}
		o.err = ErrClosed
		o.finish()
		return
	}
	//zerogc:allow the caller's context
	if ctx.Done() != nil {
		o.watch(ctx)
	}
	traceOp(EvStart, o, r.kind.String())
	//zerogc:allow the backend (io_uring or the worker pool) behind its interface; fileio's AllocsPerRun tests measure it
	r.be.start(o)
	r.mu.RUnlock()
}

// release returns a consumed op to the free list. It is the vtask release
// hook of both cores of every op.
func release(arg any) {
	o := arg.(*op)
	traceOp(EvRelease, o, "")
	o.r.free.push(o)
}

// Close stops the Reader: reads started afterwards fail with ErrClosed,
// and every read in flight completes with an error wrapping ErrClosed. It
// returns once the backend no longer touches any buffer. It also ends the
// Reader's goroutines (the io_uring loop or the workers, and the cancel
// watchers), which a Reader that is never closed keeps, with one
// exception on the workers backend: a goroutine blocked inside openat
// (a hung network mount) is left behind, and closes what openat returns
// when it returns. Close is idempotent.
func (r *Reader) Close() error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed.Load() {
		return nil
	}
	r.mu.Lock()
	r.closed.Store(true)
	close(r.closeCh)
	r.mu.Unlock()
	r.be.shutdown()
	return nil
}

// Forget drops path from the content cache. A ReadFile already in flight
// (of any path) does not put its contents into the cache afterwards.
func (r *Reader) Forget(path string) {
	if r.cache != nil {
		r.cache.forget(path)
	}
}

// Purge empties the content cache. As with Forget, no ReadFile in flight
// fills it afterwards.
func (r *Reader) Purge() {
	if r.cache != nil {
		r.cache.purge()
	}
}
