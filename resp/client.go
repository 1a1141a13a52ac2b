package resp

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/vtask"
)

// Options configure a Client. The zero value selects the defaults.
type Options struct {
	// Conns is the number of pipelined connections (default 1: one
	// connection carries many calls at once; see package pipeline).
	Conns int
	// Window is the number of calls each connection keeps in flight at
	// most (default 1024).
	Window int
	// DialTimeout bounds each dial (default 5 s).
	DialTimeout time.Duration
	// Limits bound the replies accepted.
	Limits Limits
	// Dial, if set, replaces the plain TCP dial (for TLS, or to run AUTH
	// and SELECT on the new connection before it is used).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Client is a Redis client over a pool of pipelined connections. Every
// command returns a vtask.Task[Value] at once; calls of many goroutines
// share each connection's writes and reads. It is safe for concurrent use.
//
// Each task must be consumed once (Await, AwaitContext, Result once
// completed, or vtask.WhenAll): that returns its source to its pool. Give
// AwaitContext the same ctx as the command to have the command's deadline
// honoured while waiting for the reply, too; the command's ctx alone
// bounds the wait for room in the window.
type Client struct {
	pool *pipeline.Pool[Value]
}

// Dial connects to the Redis server at addr ("host:port").
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	dial := func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if opts.Dial != nil {
			return opts.Dial(ctx, addr)
		}
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true) // Go's default; requests are batched already
		}
		return nc, nil
	}
	p, err := pipeline.NewPool(ctx, opts.Conns, dial, pipeline.Codec[Value](NewCodec(opts.Limits)),
		pipeline.Options{Window: opts.Window})
	if err != nil {
		return nil, errors.Join(errors.New("resp: cannot connect to "+addr), err)
	}
	return &Client{pool: p}, nil
}

// Close closes the connections; calls in flight fail with an error wrapping
// pipeline.ErrClosed.
func (c *Client) Close() error { return c.pool.Close() }

// Outstanding returns the number of calls whose source has not returned to
// its pool yet (in flight, or completed and not consumed). Tests use it to
// prove that abandoned calls are recycled.
func (c *Client) Outstanding() int { return c.pool.Outstanding() }

// begin picks a connection and starts a call on it.
func (c *Client) begin(ctx context.Context) (*pipeline.Conn[Value], *pipeline.Request, error) {
	conn, err := c.pool.Pick()
	if err != nil {
		return nil, nil, err
	}
	req, err := conn.Begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	return conn, req, nil
}

// Do sends the command args (the command's name first) and returns its
// reply, in memory allocated for it. For a reply without allocation, use
// DoInto.
func (c *Client) Do(ctx context.Context, args ...string) vtask.Task[Value] {
	return c.DoInto(ctx, nil, nil, args...)
}

// DoInto is Do with the reply's bytes decoded into buf's capacity and its
// array elements into elems's: with buffers large enough, it allocates
// nothing.
func (c *Client) DoInto(ctx context.Context, buf []byte, elems []Value, args ...string) vtask.Task[Value] {
	if len(args) == 0 {
		return vtask.FromError[Value](errNoCommand)
	}
	conn, req, err := c.begin(ctx)
	if err != nil {
		return vtask.FromError[Value](err)
	}
	req.Buf = AppendCommand(req.Buf, args...)
	return conn.Commit(req, Value{Str: buf[:0], Array: elems[:0]})
}

// command sends name with key and returns the task of a reply decoded
// into buf.
func (c *Client) command(ctx context.Context, name, key string, buf []byte) vtask.Task[Value] {
	conn, req, err := c.begin(ctx)
	if err != nil {
		return vtask.FromError[Value](err)
	}
	b := appendArrayLen(req.Buf, 2)
	b = appendBulk(b, name)
	req.Buf = appendBulk(b, key)
	return conn.Commit(req, Value{Str: buf[:0]})
}

// Get returns the value of key (GET), a BulkString in memory allocated for
// it, or Null if the key does not exist. GetInto allocates nothing.
func (c *Client) Get(ctx context.Context, key string) vtask.Task[Value] {
	return c.command(ctx, "GET", key, nil)
}

// GetInto is Get with the value decoded into buf's capacity: the result's
// Str is buf[:n] when the value fits, and nothing is allocated. (A larger
// value gets memory allocated for it.) buf belongs to the call until its
// task is consumed, or until AwaitContext gives up: an abandoned call's
// reply is discarded without touching buf.
func (c *Client) GetInto(ctx context.Context, key string, buf []byte) vtask.Task[Value] {
	return c.command(ctx, "GET", key, buf)
}

// Incr increments the integer at key (INCR) and returns the new value as
// an Integer.
func (c *Client) Incr(ctx context.Context, key string) vtask.Task[Value] {
	return c.command(ctx, "INCR", key, nil)
}

// Ping sends PING; the reply is the SimpleString PONG.
func (c *Client) Ping(ctx context.Context) vtask.Task[Value] {
	conn, req, err := c.begin(ctx)
	if err != nil {
		return vtask.FromError[Value](err)
	}
	req.Buf = append(req.Buf, "*1\r\n$4\r\nPING\r\n"...)
	return conn.Commit(req, Value{})
}

// SetOptions are the options of SET. The zero value sets the key with no
// expiry, unconditionally.
type SetOptions struct {
	// EX sets an expiry in whole seconds (SET ... EX); PX in
	// milliseconds (SET ... PX). At most one may be set; a positive
	// duration below the unit is refused rather than rounded to 0.
	EX, PX time.Duration
	// NX sets the key only if it does not exist, XX only if it does;
	// the reply is then Null if the key was not set.
	NX, XX bool
	// KeepTTL keeps the key's expiry (SET ... KEEPTTL).
	KeepTTL bool
}

// Errors of calls refused before they are sent.
var (
	errNoCommand = errors.New("resp: Do needs a command name: pass the command's name as the first argument")
	errNoKeys    = errors.New("resp: DEL and MGET need at least one key")
)

// errSetOptions is the error of contradictory SetOptions.
var errSetOptions = errors.New("resp: SetOptions: set at most one of EX, PX and KeepTTL, at most one of NX and XX, and EX of at least 1s, PX of at least 1ms")

// Set sets key to value (SET), with the expiry and condition of opt. The
// reply is the SimpleString OK, or Null when NX or XX prevented the set.
// It allocates nothing.
func (c *Client) Set(ctx context.Context, key string, value []byte, opt SetOptions) vtask.Task[Value] {
	ex, px := opt.EX/time.Second, opt.PX/time.Millisecond
	n := 3
	switch {
	case opt.EX < 0 || opt.PX < 0 || (opt.EX > 0 && ex == 0) || (opt.PX > 0 && px == 0),
		b2i(opt.EX > 0)+b2i(opt.PX > 0)+b2i(opt.KeepTTL) > 1, opt.NX && opt.XX:
		return vtask.FromError[Value](errSetOptions)
	}
	n += 2*b2i(ex > 0) + 2*b2i(px > 0) + b2i(opt.KeepTTL) + b2i(opt.NX) + b2i(opt.XX)
	conn, req, err := c.begin(ctx)
	if err != nil {
		return vtask.FromError[Value](err)
	}
	b := appendArrayLen(req.Buf, n)
	b = appendBulk(b, "SET")
	b = appendBulk(b, key)
	b = appendBulk(b, value)
	switch {
	case ex > 0:
		b = appendBulk(b, "EX")
		b = appendBulkInt(b, int64(ex))
	case px > 0:
		b = appendBulk(b, "PX")
		b = appendBulkInt(b, int64(px))
	case opt.KeepTTL:
		b = appendBulk(b, "KEEPTTL")
	}
	switch {
	case opt.NX:
		b = appendBulk(b, "NX")
	case opt.XX:
		b = appendBulk(b, "XX")
	}
	req.Buf = b
	return conn.Commit(req, Value{})
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Del deletes keys (DEL) and returns the number deleted as an Integer.
func (c *Client) Del(ctx context.Context, keys ...string) vtask.Task[Value] {
	return c.keysCommand(ctx, "DEL", keys, nil, nil)
}

// MGet returns the values of keys (MGET): an Array with one element per
// key, a BulkString or Null, in memory allocated for it.
func (c *Client) MGet(ctx context.Context, keys ...string) vtask.Task[Value] {
	return c.keysCommand(ctx, "MGET", keys, nil, nil)
}

// MGetInto is MGet with the values' bytes decoded into buf's capacity and
// the elements into elems's: with buffers large enough, nothing is
// allocated.
func (c *Client) MGetInto(ctx context.Context, buf []byte, elems []Value, keys ...string) vtask.Task[Value] {
	return c.keysCommand(ctx, "MGET", keys, buf, elems)
}

// keysCommand sends name with keys, which must not be empty.
func (c *Client) keysCommand(ctx context.Context, name string, keys []string, buf []byte, elems []Value) vtask.Task[Value] {
	if len(keys) == 0 {
		return vtask.FromError[Value](errNoKeys)
	}
	conn, req, err := c.begin(ctx)
	if err != nil {
		return vtask.FromError[Value](err)
	}
	b := appendArrayLen(req.Buf, 1+len(keys))
	b = appendBulk(b, name)
	for _, k := range keys {
		b = appendBulk(b, k)
	}
	req.Buf = b
	return conn.Commit(req, Value{Str: buf[:0], Array: elems[:0]})
}
