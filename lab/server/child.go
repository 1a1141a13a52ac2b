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
	flavor := os.Getenv(envFlavor)
	if flavor == "" {
		return
	}
	os.Exit(childMain(flavor, os.Getenv(envAddr), os.Stdin, os.Stdout))
}

func childMain(flavor, addr string, stdin io.Reader, stdout io.Writer) int {
	// Ctrl-C on a terminal signals the whole process group; the parent
	// decides when the server stops (by closing stdin), so that it can
	// still read the server's last metrics and report the interrupted run.
	signal.Ignore(os.Interrupt)
	fail := func(err error) int {
		fmt.Fprintf(stdout, "%s%v\n", errorPrefix, err)
		return 3
	}
	f, err := ParseFlavor(flavor)
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fail(err)
	}
	ctlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	// The server is set up (the zero flavor's pool warmed) before the
	// ready line, so that the parent's first metrics come after it.
	serve, _ := newServer(ln, f)
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
	if _, err := ParseFlavor(string(f)); err != nil {
		return err
	}
	serve, shutdown := newServer(ln, f)
	done := make(chan error, 1)
	go func() { done <- serve() }()
	select {
	case err := <-done:
		return errorf("serving %s on %s: %v", f, ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return errorf("stopping the %s server: %v", f, err)
	}
	<-done
	return nil
}

// newServer sets up flavor f's server on ln, which must be valid, and
// returns the functions that serve (blocking) and shut it down.
func newServer(ln net.Listener, f Flavor) (serve func() error, shutdown func(context.Context) error) {
	if f == Zero {
		warmCompletions()
		srv := &fasthttp.Server{Handler: ZeroHandler, NoDefaultServerHeader: true}
		return func() error { return srv.Serve(ln) }, srv.ShutdownWithContext
	}
	srv := &http.Server{Handler: NetHTTPHandler()}
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
