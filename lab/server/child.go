package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Environment variables by which Start tells the re-executed program that
// it is the child server.
const (
	envFlavor = "ZEROGC_LAB_CHILD"
	envAddr   = "ZEROGC_LAB_ADDR"
	// envRedis, when set, is the Redis server of the Redis route.
	envRedis = "ZEROGC_LAB_REDIS"
)

// Lines the child prints on standard output when it is ready or failed.
const (
	readyPrefix = "zerogc-lab-ready "
	errorPrefix = "zerogc-lab-error "
)

// Control channel commands: one byte each, on a persistent loopback TCP
// connection.
const (
	cmdMetrics      = 'm' // reply: the metrics, 8 bytes each, little endian
	cmdProfileBegin = 'b' // reply: 'k', or 'x' if the profile rate is not 1
	cmdProfileEnd   = 'e' // reply: 4-byte length, then the Profile as JSON
)

// RunChildIfRequested turns the process into the lab's child server when
// it was started by [Start], and returns otherwise. Call it first thing in
// main (or TestMain) of any program that calls Start: Start re-executes the
// program itself, so that the server runs in a process of its own whose
// memory is measured alone. When it runs the server, it never returns: the
// process exits when its standard input is closed (the parent stopped or
// died).
func RunChildIfRequested() {
	runChildIfRequested(func(ln net.Listener, flavor, redis string) (func() error, func(context.Context) error, error) {
		f, err := ParseFlavor(flavor)
		if err != nil {
			return nil, nil, err
		}
		return newServer(ln, f, redis)
	})
}

// RunHTTPChildIfRequested is [RunChildIfRequested] for a program of its
// own whose server is a net/http handler: newHandler builds it, given the
// address of the Redis server (empty without the Redis route). The bench
// module's labredis program, the nethttp flavor of the Redis route with
// go-redis, calls it first thing in main; [Options.Program] names such a
// program. When the process was not started by [Start], it returns.
func RunHTTPChildIfRequested(newHandler func(redisAddr string) (http.Handler, error)) {
	runChildIfRequested(func(ln net.Listener, _, redis string) (func() error, func(context.Context) error, error) {
		h, err := newHandler(redis)
		if err != nil {
			return nil, nil, err
		}
		serve, shutdown := httpServer(ln, h)
		return serve, shutdown, nil
	})
}

// runChildIfRequested runs the child server that newServer builds from
// Start's environment (the flavor and the Redis address), if Start
// started this process, and never returns then.
func runChildIfRequested(newServer func(ln net.Listener, flavor, redis string) (func() error, func(context.Context) error, error)) {
	flavor := os.Getenv(envFlavor)
	if flavor == "" {
		return
	}
	redis := os.Getenv(envRedis)
	build := func(ln net.Listener) (func() error, func(context.Context) error, error) {
		return newServer(ln, flavor, redis)
	}
	os.Exit(childMain(build, os.Getenv(envAddr), os.Stdin, os.Stdout))
}

// builder sets up a server on ln and returns the functions that serve
// (blocking) and shut it down.
type builder func(ln net.Listener) (serve func() error, shutdown func(context.Context) error, err error)

func childMain(build builder, addr string, stdin io.Reader, stdout io.Writer) int {
	// Ctrl-C on a terminal signals the whole process group; the parent
	// decides when the server stops (by closing stdin), so that it can
	// still read the server's last metrics and report the interrupted run.
	signal.Ignore(os.Interrupt)
	fail := func(err error) int {
		fmt.Fprintf(stdout, "%s%v\n", errorPrefix, err)
		return 3
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(err)
	}
	ctlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	// The server is set up (the zero flavor's pool warmed, the Redis
	// client connected) before the ready line, so that the parent's first
	// metrics come after it.
	serve, _, err := build(ln)
	if err != nil {
		return fail(err)
	}
	go serve() //nolint:errcheck // ends with the process
	c := &control{}
	go c.serve(ctlLn)
	fmt.Fprintf(stdout, "%shttp=%s ctl=%s\n", readyPrefix, ln.Addr(), ctlLn.Addr())
	_, _ = io.Copy(io.Discard, stdin) // returns when the parent closes stdin or exits
	return 0
}

// Serve serves the sample API in flavor f on ln until ctx is done, then
// stops accepting, lets the requests in progress finish (for up to 5
// seconds) and returns nil; it returns an error if serving fails first. It
// is the server of "zerogc serve" and of the child that "zerogc load"
// starts.
func Serve(ctx context.Context, ln net.Listener, f Flavor) error {
	return ServeRedis(ctx, ln, f, "")
}

// ServeRedis is [Serve] with the Redis route, GET /api/values/{key}, read
// from the Redis server at redisAddr (none when it is empty). Only the
// zero flavor is here: the nethttp flavor's Redis route uses go-redis, a
// third-party library, and lives in the bench module's labredis program.
func ServeRedis(ctx context.Context, ln net.Listener, f Flavor, redisAddr string) error {
	if _, err := ParseFlavor(string(f)); err != nil {
		return err
	}
	serve, shutdown, err := newServer(ln, f, redisAddr)
	if err != nil {
		return err
	}
	return serveUntil(ctx, ln, string(f), serve, shutdown)
}

// ServeHandler serves h on ln with net/http until ctx is done, and stops
// as [Serve] does. Programs of their own that [RunHTTPChildIfRequested]
// runs as the child use it to serve alone too.
func ServeHandler(ctx context.Context, ln net.Listener, h http.Handler) error {
	serve, shutdown := httpServer(ln, h)
	return serveUntil(ctx, ln, "net/http", serve, shutdown)
}

func serveUntil(ctx context.Context, ln net.Listener, name string, serve func() error, shutdown func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- serve() }()
	select {
	case err := <-done:
		return errorf("serving %s on %s: %v", name, ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return errorf("stopping the %s server: %v", name, err)
	}
	<-done
	return nil
}

// newServer sets up flavor f's server on ln, which must be valid, with the
// Redis route when redisAddr is not empty, and returns the functions that
// serve (blocking) and shut it down.
func newServer(ln net.Listener, f Flavor, redisAddr string) (serve func() error, shutdown func(context.Context) error, err error) {
	if f == Zero {
		warmCompletions()
		handler := fasthttp.RequestHandler(ZeroHandler)
		closeRedis := func() error { return nil }
		if redisAddr != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := DialRedis(ctx, redisAddr)
			if err != nil {
				return nil, nil, err
			}
			handler, closeRedis = ZeroRedisHandler(c), c.Close
		}
		srv := &fasthttp.Server{Handler: handler, NoDefaultServerHeader: true}
		return func() error { return srv.Serve(ln) }, func(ctx context.Context) error {
			err := srv.ShutdownWithContext(ctx)
			return errors.Join(err, closeRedis())
		}, nil
	}
	if redisAddr != "" {
		return nil, nil, errorf("the nethttp flavor's Redis route is not in this program: it uses go-redis, which lives in the bench module; run bench/cmd/labredis (zerogc load and zerogc serve build and start it for --flavor nethttp --route redis)")
	}
	serve, shutdown = httpServer(ln, NetHTTPHandler())
	return serve, shutdown, nil
}

func httpServer(ln net.Listener, h http.Handler) (serve func() error, shutdown func(context.Context) error) {
	srv := &http.Server{Handler: h}
	return func() error { return srv.Serve(ln) }, srv.Shutdown
}

// control serves the control channel. Its metrics path allocates nothing
// after a connection's set-up, so sampling does not disturb the
// allocation figures it reports; allocations on the profile path are left
// out of the profile by their stack (see ownFrame).
type control struct {
	mu     sync.Mutex
	before profileSnapshot
}

func (c *control) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go c.handle(conn)
	}
}

func (c *control) handle(conn net.Conn) {
	defer conn.Close()
	mr := newMetricsReader()
	buf := make([]byte, 1)
	for {
		if _, err := io.ReadFull(conn, buf); err != nil {
			return
		}
		var err error
		switch buf[0] {
		case cmdMetrics:
			_, err = conn.Write(mr.read())
		case cmdProfileBegin:
			if runtime.MemProfileRate != 1 {
				buf[0] = 'x'
			} else {
				c.mu.Lock()
				c.before = takeProfile()
				c.mu.Unlock()
				buf[0] = 'k'
			}
			_, err = conn.Write(buf)
		case cmdProfileEnd:
			c.mu.Lock()
			p := diffProfiles(c.before, takeProfile())
			c.mu.Unlock()
			js, _ := json.Marshal(p)
			out := binary.LittleEndian.AppendUint32(nil, uint32(len(js)))
			_, err = conn.Write(append(out, js...))
		default:
			return
		}
		if err != nil {
			return
		}
	}
}
