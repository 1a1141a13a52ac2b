package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Dialer opens a new network connection for a Pool, and may run the
// protocol's handshake on it (authentication, database selection) before
// it returns.
type Dialer func(ctx context.Context) (net.Conn, error)

// ErrPoolClosed is returned by Pick on a closed Pool.
var ErrPoolClosed = errors.New("pipeline: pool closed")

// Pool keeps N pipelined connections to one server and replaces those that
// fail.
//
// Pick policy: round robin over the N connections, skipping the failed
// ones. A failed connection is replaced in the background by one goroutine
// per connection (not per call), which redials with a backoff from 10 ms
// to 1 s until it succeeds or the Pool is closed. While every connection
// is down, Pick fails at once with an error wrapping the last failure:
// callers are not held waiting for a server that may not come back.
type Pool[R any] struct {
	dial  Dialer
	codec Codec[R]
	opts  Options

	// conns[i] is the current connection of place i; it is replaced (by
	// the redialer of place i only) with a fresh one once it has failed.
	conns []atomic.Pointer[Conn[R]]
	// redialing[i] is set by the Pick that starts the redialer of place
	// i, and cleared by that redialer when it is done: one redialer per
	// place at a time.
	redialing []atomic.Bool
	// next is the round-robin cursor; its wrap-around is harmless.
	next atomic.Uint32

	// outstanding counts the calls of all the Pool's connections, past
	// and present, whose source has not returned to its pool.
	outstanding atomic.Int64

	ctx    context.Context // canceled by Close: stops the redialers
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewPool dials n connections (n <= 0 selects 1) and returns a Pool over
// them. It fails if any of the first dials fails.
func NewPool[R any](ctx context.Context, n int, dial Dialer, codec Codec[R], opts Options) (*Pool[R], error) {
	if dial == nil || codec == nil {
		return nil, errors.New("pipeline: NewPool needs a Dialer and a Codec")
	}
	n = max(n, 1)
	pctx, cancel := context.WithCancel(context.Background())
	p := &Pool[R]{
		dial:      dial,
		codec:     codec,
		opts:      opts,
		conns:     make([]atomic.Pointer[Conn[R]], n),
		redialing: make([]atomic.Bool, n),
		ctx:       pctx,
		cancel:    cancel,
	}
	for i := range p.conns {
		nc, err := dial(ctx)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("pipeline: dialing connection %d of %d: %w", i+1, n, err)
		}
		p.conns[i].Store(newConn(nc, codec, opts, &p.outstanding))
	}
	return p, nil
}

// Pick returns a working connection, by round robin. A failed connection
// it passes over is redialed in the background. If every connection has
// failed, Pick returns an error wrapping the last failure.
func (p *Pool[R]) Pick() (*Conn[R], error) {
	n := uint32(len(p.conns))
	start := p.next.Add(1)
	var last error
	for k := range n {
		i := (start + k) % n
		c := p.conns[i].Load()
		select {
		case <-c.done:
		default:
			return c, nil
		}
		if p.ctx.Err() != nil {
			return nil, ErrPoolClosed
		}
		last = c.Err()
		p.redial(int(i))
	}
	return nil, fmt.Errorf("pipeline: no connection works (they are being redialed): %w", last)
}

// redial starts the redialer of place i unless one is running.
func (p *Pool[R]) redial(i int) {
	// Invariant: redialing[i] is true exactly while one redialer of
	// place i runs; the CAS lets one Pick start it.
	if !p.redialing[i].CompareAndSwap(false, true) {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.redialing[i].Store(false)
		backoff := 10 * time.Millisecond
		for {
			nc, err := p.dial(p.ctx)
			if err == nil {
				if p.ctx.Err() != nil {
					_ = nc.Close()
					return
				}
				p.conns[i].Store(newConn(nc, p.codec, p.opts, &p.outstanding))
				return
			}
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
		}
	}()
}

// Outstanding returns the number of calls on the Pool's connections, past
// and present, whose source has not returned to its pool: in flight, or
// completed and not consumed yet. It is 0 once every task has been
// consumed or abandoned and its reply has arrived or its connection failed.
func (p *Pool[R]) Outstanding() int { return int(p.outstanding.Load()) }

// Len returns the number of connections, N.
func (p *Pool[R]) Len() int { return len(p.conns) }

// Close closes every connection (their calls in flight fail with
// ErrClosed) and stops the redialers. Pick then fails with ErrPoolClosed.
func (p *Pool[R]) Close() error {
	p.cancel()
	p.wg.Wait()
	for i := range p.conns {
		if c := p.conns[i].Load(); c != nil {
			_ = c.Close()
		}
	}
	return nil
}
