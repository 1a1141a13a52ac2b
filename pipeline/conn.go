package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/zerogc/zerogc/pool"
	"github.com/zerogc/zerogc/vtask"
)

// Codec reads the replies of a protocol. Requests are encoded by the caller
// between Begin and Commit, in concrete code, so that nothing it encodes
// escapes to the heap; the codec only finds and decodes replies.
//
// Both methods are called on the connection's reader goroutine only.
type Codec[R any] interface {
	// Scan reports the length n of the complete reply at the start of
	// buf and, for a tagged protocol, the tag of the call it answers (a
	// FIFO protocol returns 0). It returns n == 0 and a nil error when
	// buf holds only part of a reply: the connection reads more and calls
	// Scan again with a longer buf. A non-nil error means the stream
	// cannot be parsed; the connection fails with it. Scan must not write
	// anywhere: the call may have been abandoned.
	Scan(buf []byte) (n int, tag uint32, err error)
	// Decode decodes the complete reply buf (as long as Scan said) into
	// dst, which holds the destination the caller gave Commit, and may
	// use the caller's buffers found there. A non-nil error is the call's
	// own (a server's error reply): the call fails with it and the
	// connection goes on. Decode must not keep buf: the connection reuses
	// it.
	Decode(buf []byte, dst *R) error
}

// Options configure a connection. The zero value selects the defaults.
type Options struct {
	// Window is the number of calls a connection keeps in flight at
	// most; Begin waits for room beyond it. Default 1024.
	Window int
	// Tagged says that replies carry the tag given to the request (Scan
	// returns it) and may arrive in any order. Otherwise replies arrive
	// in the order of the requests (FIFO: Redis, memcached).
	Tagged bool
	// ReadBuffer is the initial size of the read buffer. Default 16 KiB.
	ReadBuffer int
	// MaxReadBuffer bounds the read buffer, and so the size of one reply;
	// a longer reply fails the connection. Default 1 GiB. The codec
	// should refuse absurd lengths long before (package resp does).
	MaxReadBuffer int
}

const (
	defaultWindow     = 1024
	defaultReadBuffer = 16 << 10
	defaultMaxRead    = 1 << 30
	// keepReadBuffer is the size above which an empty read buffer goes
	// back to ReadBuffer, so that one huge reply does not pin its memory.
	keepReadBuffer = 4 << 20
)

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = defaultWindow
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = defaultReadBuffer
	}
	if o.MaxReadBuffer <= 0 {
		o.MaxReadBuffer = defaultMaxRead
	}
	o.MaxReadBuffer = max(o.MaxReadBuffer, o.ReadBuffer)
	return o
}

// ErrClosed is the cause of the failure of a connection closed by Close.
var ErrClosed = errors.New("pipeline: connection closed")

// ConnError is the error of every call on a connection that failed: the
// calls in flight, those waiting for room and those submitted afterwards.
// Unwrap returns the cause (the read or write error, a protocol error of
// the codec, or ErrClosed).
type ConnError struct {
	Addr string // the remote address
	Op   string // "read", "write", "decode" or "close"
	Err  error  // the cause
}

// Error says which connection failed, doing what, and why.
func (e *ConnError) Error() string {
	return "pipeline: connection to " + e.Addr + " failed (" + e.Op + "): " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ConnError) Unwrap() error { return e.Err }

// Conn is one pipelined connection: many goroutines submit calls on it at
// once (Begin, then Commit); a writer goroutine sends the requests
// submitted meanwhile in one write; a reader goroutine decodes the replies
// and completes each call's task. See the package documentation.
type Conn[R any] struct {
	nc     net.Conn
	codec  Codec[R]
	tagged bool
	opts   Options

	// free holds the indexes of the free places of the window; a
	// submitter takes one in Begin, the reader gives it back when the
	// call's reply has arrived (or the connection failed). There are
	// exactly Window indexes, so a send on free never blocks.
	free chan uint32

	// slots[i] is the call that holds window index i, for a tagged
	// protocol; q is the ring of calls in request order, for a FIFO one.
	// A submitter stores a call there under mu before its request is
	// appended to wbuf; the reader swaps it out when its reply arrives,
	// or when the connection failed. A nil load means a reply that
	// answers no call: a protocol error.
	slots []atomic.Pointer[call[R]]
	q     []atomic.Pointer[call[R]]
	mask  uint64
	head  uint64 // next call to answer in q; the reader's only

	mu sync.Mutex
	// Guarded by mu.
	wbuf   []byte  // requests encoded and not yet taken by the writer
	tail   uint64  // next free place in q
	req    Request // handed out by Begin, between Begin and Commit
	failed error   // set once, by fail; no call is stored after it is

	// wake tells the writer that wbuf became non-empty; the submitter
	// that finds wbuf empty sends, without blocking (a pending signal
	// is enough: the writer takes everything there after receiving it).
	wake chan struct{}
	// done is closed by fail, once: it stops the writer and releases the
	// submitters waiting for room.
	done     chan struct{}
	failOnce sync.Once
	loops    sync.WaitGroup

	calls *pool.Pool[call[R]]
	// outstanding counts calls rented and not yet recycled; it points
	// into the Pool for connections of a Pool, so that replaced
	// connections are still counted.
	outstanding *atomic.Int64
}

// Request is the encoding of one call, between Begin and Commit: append
// the request's bytes to Buf (with Tag in them, for a tagged protocol).
type Request struct {
	// Buf holds the requests of other calls that the writer has not
	// taken yet; append, do not overwrite.
	Buf []byte
	// Tag identifies the call to a tagged protocol: the reply must
	// carry it back. It is below Window.
	Tag   uint32
	start int
}

// call is one pooled call: the completion its task refers to, and the
// destination the reply is decoded into.
type call[R any] struct {
	vtask.Core[R]
	conn *Conn[R]
	// dst is written by Commit before the call is published in slots or
	// q, and read and cleared by the reader that swapped it out, before
	// it completes the call.
	dst R
	idx uint32
	ver uint64
}

// NewConn starts the reader and writer goroutines of a pipelined
// connection over nc, whose replies codec reads. The Conn owns nc and
// closes it when it fails or is closed.
func NewConn[R any](nc net.Conn, codec Codec[R], opts Options) *Conn[R] {
	return newConn(nc, codec, opts, new(atomic.Int64))
}

func newConn[R any](nc net.Conn, codec Codec[R], opts Options, outstanding *atomic.Int64) *Conn[R] {
	opts = opts.withDefaults()
	c := &Conn[R]{
		nc:          nc,
		codec:       codec,
		tagged:      opts.Tagged,
		opts:        opts,
		free:        make(chan uint32, opts.Window),
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		outstanding: outstanding,
	}
	for i := range opts.Window {
		c.free <- uint32(i)
	}
	if c.tagged {
		c.slots = make([]atomic.Pointer[call[R]], opts.Window)
	} else {
		n := 1
		for n < opts.Window {
			n <<= 1
		}
		c.q = make([]atomic.Pointer[call[R]], n)
		c.mask = uint64(n - 1)
	}
	calls := pool.New(func() *call[R] {
		cl := &call[R]{conn: c}
		cl.SetRelease(recycleCall[R], cl)
		return cl
	}, pool.Size(opts.Window), pool.PerP())
	c.calls = calls
	c.loops.Add(2)
	go c.writeLoop()
	go c.readLoop()
	return c
}

// recycleCall returns a consumed call to its connection's pool.
func recycleCall[R any](arg any) {
	cl := arg.(*call[R])
	c := cl.conn
	c.outstanding.Add(-1)
	c.calls.Put(cl)
}

// Begin reserves a place in the window for one call and starts its
// request: the caller appends the request to the returned Request's Buf,
// then calls Commit (or Abort if it could not encode it). Between Begin and
// Commit the connection's submission lock is held: encode, do not block.
//
// When the window is full, Begin waits for room until ctx ends, and then
// returns ctx.Err(). On a failed connection it returns a *ConnError.
func (c *Conn[R]) Begin(ctx context.Context) (*Request, error) {
	var idx uint32
	done := ctx.Done()
	if done != nil {
		select {
		case <-done:
			return nil, ctx.Err()
		default:
		}
	}
	select {
	case idx = <-c.free:
	default:
		select {
		case idx = <-c.free:
		case <-done:
			return nil, ctx.Err()
		case <-c.done:
			return nil, c.Err()
		}
	}
	c.mu.Lock()
	if c.failed != nil {
		err := c.failed
		c.mu.Unlock()
		c.free <- idx
		return nil, err
	}
	c.req = Request{Buf: c.wbuf, Tag: idx, start: len(c.wbuf)}
	return &c.req, nil
}

// Abort gives up the call that Begin started: what was appended to its
// Buf is dropped and its place in the window is freed.
func (c *Conn[R]) Abort(r *Request) {
	idx := r.Tag
	c.req = Request{}
	c.mu.Unlock()
	c.free <- idx
}

// Commit submits the call that Begin started, whose reply is to be decoded
// into dst (which typically holds the caller's buffers), and returns its
// task. The task completes with the decoded dst, or with the error of
// Decode, or a *ConnError if the connection fails first; its source is
// pooled, so in steady state a call allocates nothing.
//
// The caller awaits the task (Await, AwaitContext, WhenAll) and must
// consume it once. If its AwaitContext gives up, the reply is still read,
// and discarded without touching dst, and the call returns to its pool.
func (c *Conn[R]) Commit(r *Request, dst R) vtask.Task[R] {
	cl := c.calls.Get()
	c.outstanding.Add(1)
	cl.dst = dst
	cl.idx = r.Tag
	cl.ver = cl.Version()
	t := cl.Task()
	if c.tagged {
		c.slots[r.Tag].Store(cl)
	} else {
		c.q[c.tail&c.mask].Store(cl)
		c.tail++
	}
	wasEmpty := r.start == 0
	c.wbuf = r.Buf
	c.req = Request{}
	c.mu.Unlock()
	if wasEmpty {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return t
}

// Outstanding returns the number of calls whose source has not returned to
// its pool: calls in flight, and completed calls whose result has not been
// consumed. (For a connection of a Pool, the Pool's count.)
func (c *Conn[R]) Outstanding() int { return int(c.outstanding.Load()) }

// Err returns the *ConnError the connection failed with, or nil while it
// works.
func (c *Conn[R]) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// Done returns a channel that is closed when the connection fails or is
// closed.
func (c *Conn[R]) Done() <-chan struct{} { return c.done }

// RemoteAddr returns the address of the other end.
func (c *Conn[R]) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Close closes the connection: every call in flight fails with a
// *ConnError wrapping ErrClosed. It returns once the reader and writer
// goroutines have exited, so every call has completed by then. It must not
// be called from a continuation, which runs on the reader goroutine.
func (c *Conn[R]) Close() error {
	c.fail("close", ErrClosed)
	c.loops.Wait()
	return nil
}

// fail marks the connection failed with its first cause, closes it and
// stops the writer. The reader, whose read then fails, completes the calls
// in flight.
func (c *Conn[R]) fail(op string, cause error) {
	c.failOnce.Do(func() {
		err := &ConnError{Addr: c.nc.RemoteAddr().String(), Op: op, Err: cause}
		c.mu.Lock()
		c.failed = err
		c.mu.Unlock()
		close(c.done)
		_ = c.nc.Close() // the cause is err, not what Close says
	})
}

// writeLoop sends what submitters appended to wbuf, all of it in one write,
// while they append the next batch to the other buffer.
func (c *Conn[R]) writeLoop() {
	defer c.loops.Done()
	var out []byte
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		out, c.wbuf = c.wbuf, out[:0]
		c.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		if _, err := c.nc.Write(out); err != nil {
			c.fail("write", err)
			return
		}
		if cap(out) > keepReadBuffer {
			out = nil // one huge batch does not pin its memory
		}
	}
}

// readLoop reads replies and completes their calls until the connection
// fails; then it fails every call still in flight.
func (c *Conn[R]) readLoop() {
	defer c.loops.Done()
	op, err := c.read()
	c.fail(op, err)
	c.failInFlight()
}

// read reads and delivers replies until a read or a reply fails.
func (c *Conn[R]) read() (op string, err error) {
	buf := make([]byte, c.opts.ReadBuffer)
	r, w := 0, 0
	for {
		// Deliver every complete reply in the buffer: the calls of one
		// read complete together, one wake-up each at most (a WhenAll
		// over them wakes its waiter once).
		delivered := r < w
		for r < w {
			n, tag, err := c.codec.Scan(buf[r:w])
			if err != nil {
				return "decode", err
			}
			if n == 0 {
				break
			}
			if n > w-r {
				return "decode", fmt.Errorf("codec Scan returned %d, more than the %d bytes it was given", n, w-r)
			}
			if err := c.deliver(buf[r:r+n], tag); err != nil {
				return "decode", err
			}
			r += n
		}
		switch {
		case r == w:
			r, w = 0, 0
			if len(buf) > keepReadBuffer {
				buf = make([]byte, c.opts.ReadBuffer)
			}
			if delivered && len(c.free) == cap(c.free) {
				// Every call has its reply: the goroutines just
				// woken (the waiter of the last reply, typically)
				// are next to run on this processor, but would wait
				// for the Read below, a system call that finds
				// nothing. Let them run first; no reply is due.
				runtime.Gosched()
			}
		case r > 0:
			w = copy(buf, buf[r:w])
			r = 0
		}
		if w == len(buf) {
			if len(buf) >= c.opts.MaxReadBuffer {
				return "decode", fmt.Errorf("a reply is longer than MaxReadBuffer (%d bytes); raise Options.MaxReadBuffer if that is expected", c.opts.MaxReadBuffer)
			}
			nb := make([]byte, min(2*len(buf), c.opts.MaxReadBuffer))
			copy(nb, buf[:w])
			buf = nb
		}
		n, err := c.nc.Read(buf[w:])
		w += n
		if err != nil {
			return "read", err
		}
	}
}

// errNoCall is the protocol error of a reply that answers no call.
var errNoCall = errors.New("a reply arrived that answers no call in flight (the server sent more replies than requests, or an unknown tag)")

// deliver completes the call that reply answers.
func (c *Conn[R]) deliver(reply []byte, tag uint32) error {
	var cl *call[R]
	if c.tagged {
		if int(tag) >= len(c.slots) {
			return fmt.Errorf("reply tag %d is outside the window (%d)", tag, len(c.slots))
		}
		cl = c.slots[tag].Swap(nil)
	} else {
		cl = c.q[c.head&c.mask].Swap(nil)
		if cl != nil {
			c.head++
		}
	}
	if cl == nil {
		return errNoCall
	}
	c.complete(cl, reply, nil)
	return nil
}

// complete completes cl, whose reply is reply (or whose connection failed
// with cause). It frees cl's place in the window first, so that a
// continuation that submits a call, running inline here, finds room.
func (c *Conn[R]) complete(cl *call[R], reply []byte, cause error) {
	// The reader is the only completer of a call, so the claim succeeds;
	// it stops an AwaitContext from giving up while dst is written.
	claimed, abandoned := cl.TryClaim(cl.ver)
	c.free <- cl.idx
	if !claimed {
		panic("pipeline: a call was completed twice")
	}
	var zero R
	err := cause
	if abandoned {
		cl.dst = zero // nobody reads it; dst is the caller's again
	} else if err == nil {
		// Decode into the call's own field: a local's address would
		// escape through the interface call and be allocated.
		err = c.codec.Decode(reply, &cl.dst)
	}
	v := cl.dst
	cl.dst = zero
	// After this, cl may be recycled and reused: do not touch it.
	cl.CompleteClaimed(v, err)
}

// failInFlight fails every call still in flight, after fail: no call is
// stored in slots or q any more, so the sweep sees them all.
func (c *Conn[R]) failInFlight() {
	c.mu.Lock()
	cause, tail := c.failed, c.tail
	c.mu.Unlock()
	if c.tagged {
		for i := range c.slots {
			if cl := c.slots[i].Swap(nil); cl != nil {
				c.complete(cl, nil, cause)
			}
		}
		return
	}
	for ; c.head != tail; c.head++ {
		if cl := c.q[c.head&c.mask].Swap(nil); cl != nil {
			c.complete(cl, nil, cause)
		}
	}
}
