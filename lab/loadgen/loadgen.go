// Package loadgen is the lab's load generator: closed-loop users, each with
// its own keep-alive connection, that send GET requests to a loopback URL,
// wait for the response, pause for a delay and go again, until an exact
// total of requests has been sent.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Config describes the load.
type Config struct {
	// URL is the target, an http:// URL on a loopback address.
	URL string
	// Paths, if not empty, replace URL's path: the k-th request of a run
	// (from 0) goes to Paths[k%len(Paths)] on URL's host, so that a run
	// cycles through them (the Redis route's keys).
	Paths []string
	// Users is the number of concurrent closed-loop users (at least 1).
	Users int
	// Delay is each user's pause after every response.
	Delay time.Duration
	// Timeout bounds one request; 0 means 5 seconds.
	Timeout time.Duration
	// MaxTimeouts is the number of requests in a row, across users and
	// with no response in between, that may time out before a run stops;
	// 0 means Users (every user's latest request timed out), at least 3.
	// A server that accepts connections and never answers thus ends a
	// run after about one Timeout.
	MaxTimeouts int
}

// Result is what one Run measured.
type Result struct {
	// Requests is the number of requests sent and finished, successful or not.
	Requests int `json:"requests"`
	// OK counts responses with a 2xx status.
	OK int `json:"ok"`
	// Errors counts failed requests by kind: "timeout", "refused",
	// "reset", "closed", "other", or "status NNN" for non-2xx responses.
	Errors map[string]int `json:"errors"`
	// Duration is the wall time of the run.
	Duration time.Duration `json:"duration_ns"`
	// Latencies holds every finished request's latency, failed ones
	// included, sorted ascending.
	Latencies []time.Duration `json:"-"`
	// Aborted explains why the run stopped before its count, if it did.
	Aborted string `json:"aborted,omitempty"`
}

// ErrorCount returns the total number of failed requests.
func (r *Result) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Percentile returns the latency below which the fraction q (0..1) of the
// requests finished, or 0 without requests.
func (r *Result) Percentile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	i = min(max(i, 0), len(r.Latencies)-1)
	return r.Latencies[i]
}

// RequestsPerSecond returns the request rate over the run.
func (r *Result) RequestsPerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// abortAfter is the number of consecutive connection failures (the server
// is gone or refuses connections) after which a run stops instead of
// spending its whole count on errors.
const abortAfter = 50

// Generator sends load to one URL. Its connections persist across runs, so
// a warm-up run leaves them open for the measured run.
type Generator struct {
	cfg    Config
	target *url.URL
	client *fasthttp.HostClient
	done   atomic.Int64 // requests finished in the current run
	// What the server sent over the generator's lifetime, for the message
	// when requests time out: bytes read, complete 2xx-or-not responses,
	// and the first line of the first bytes read.
	received  atomic.Int64
	responses atomic.Int64
	firstLine atomic.Pointer[string]

	// conns are the open connections, closed all at once when a run
	// stops early, so that requests in flight end at once instead of at
	// their timeout.
	connMu sync.Mutex
	conns  map[*countingConn]struct{}
	// halted is set while a run stops early, so that fasthttp does not
	// retry the requests whose connections were closed under them.
	halted atomic.Bool

	// notify, if set, receives a token (without blocking) every
	// notifyEvery finished requests.
	notify      chan<- struct{}
	notifyEvery int64
}

// New checks cfg and returns a generator. The URL must be http:// on a
// loopback host (127.0.0.0/8, ::1 or localhost).
func New(cfg Config) (*Generator, error) {
	u, err := ValidateURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Users < 1 {
		return nil, fmt.Errorf("loadgen: users must be at least 1, got %d", cfg.Users)
	}
	if cfg.Delay < 0 {
		return nil, fmt.Errorf("loadgen: delay must not be negative, got %v", cfg.Delay)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	for _, p := range cfg.Paths {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("loadgen: path %q must start with /", p)
		}
	}
	if cfg.MaxTimeouts <= 0 {
		cfg.MaxTimeouts = max(cfg.Users, 3)
	}
	g := &Generator{cfg: cfg, target: u, conns: map[*countingConn]struct{}{}}
	g.client = &fasthttp.HostClient{
		Addr:                     u.Host,
		MaxConns:                 cfg.Users,
		ReadTimeout:              cfg.Timeout,
		WriteTimeout:             cfg.Timeout,
		MaxIdleConnDuration:      time.Minute,
		NoDefaultUserAgentHeader: true,
		RetryIfErr: func(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
			// fasthttp's default: retry idempotent requests (a keep-alive
			// connection the server closed), unless the run is stopping.
			return false, req.Header.IsGet() && !g.halted.Load()
		},
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", addr, min(timeout, cfg.Timeout))
			if err != nil {
				return nil, err
			}
			cc := &countingConn{Conn: c, g: g}
			g.connMu.Lock()
			defer g.connMu.Unlock()
			// halted is set before closeConns takes connMu: a connection
			// dialled while a run stops is either closed there or here.
			if g.halted.Load() {
				c.Close()
				return nil, errors.New("loadgen: the run is stopping")
			}
			g.conns[cc] = struct{}{}
			return cc, nil
		},
	}
	return g, nil
}

// countingConn records what the server sends, so that a run that times out
// can say whether the server sent nothing or stalled mid-response.
type countingConn struct {
	net.Conn
	g *Generator
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if c.g.received.Add(int64(n)) == int64(n) {
			line, _, _ := bytes.Cut(p[:min(n, 80)], []byte("\r\n"))
			s := string(line)
			c.g.firstLine.CompareAndSwap(nil, &s)
		}
	}
	return n, err
}

func (c *countingConn) Close() error {
	c.g.connMu.Lock()
	delete(c.g.conns, c)
	c.g.connMu.Unlock()
	return c.Conn.Close()
}

// closeConns closes every open connection; fasthttp dials new ones for the
// next request.
func (g *Generator) closeConns() {
	g.connMu.Lock()
	cs := make([]*countingConn, 0, len(g.conns))
	for c := range g.conns {
		cs = append(cs, c)
	}
	g.connMu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

// stalled describes what the server did when requests time out.
func (g *Generator) stalled() string {
	host := g.target.Host
	switch resp := g.responses.Load(); {
	case resp > 0:
		return fmt.Sprintf("the server at %s answered %d requests, then stopped answering", host, resp)
	case g.received.Load() == 0:
		return fmt.Sprintf("the server at %s accepts connections but sent no byte of a response", host)
	}
	first := ""
	if p := g.firstLine.Load(); p != nil {
		first = *p
	}
	return fmt.Sprintf("the server at %s sent the start of a response (%q) and then nothing", host, first)
}

// Notify makes subsequent runs send a token to ch, without blocking, every
// time another every requests have finished (a sampler can wake on it, so
// that a short run is sampled often enough). Call it between runs only.
// A nil ch or every < 1 turns it off.
func (g *Generator) Notify(ch chan<- struct{}, every int) {
	if ch == nil || every < 1 {
		g.notify, g.notifyEvery = nil, 0
		return
	}
	g.notify, g.notifyEvery = ch, int64(every)
}

// ResetDone sets Done to 0 ahead of the next Run, so that a reader started
// before that Run (a sampler) does not see the previous run's count. Call
// it between runs only.
func (g *Generator) ResetDone() { g.done.Store(0) }

// ValidateURL parses raw and checks that it is an http:// URL whose host is
// a loopback address. The lab only loads servers on this machine.
func ValidateURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("loadgen: bad URL %q: %v (want e.g. http://127.0.0.1:8080/path)", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("loadgen: URL %q: only http:// is supported (got scheme %q)", raw, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("loadgen: URL %q has no host", raw)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(host, "80")
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("loadgen: refusing to load %q: only loopback targets (127.0.0.1, ::1, localhost) are allowed", host)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	if host != "localhost" {
		return false
	}
	addrs, err := net.LookupIP(host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			return false
		}
	}
	return true
}

// Probe checks that the target accepts a TCP connection within timeout.
func (g *Generator) Probe(timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", g.target.Host, timeout)
	if err != nil {
		return fmt.Errorf("loadgen: cannot connect to %s: %v (is the server running?)", g.target.Host, err)
	}
	return c.Close()
}

// Done returns the number of requests finished so far in the current run;
// it is safe to call from another goroutine (a progress display).
func (g *Generator) Done() int64 { return g.done.Load() }

// Run sends exactly n requests spread over the users (fewer only if ctx is
// canceled or the server stops accepting connections) and returns what it
// measured. delay overrides Config.Delay when non-negative.
func (g *Generator) Run(ctx context.Context, n int, delay time.Duration) (*Result, error) {
	if n < 0 {
		return nil, fmt.Errorf("loadgen: request count must not be negative, got %d", n)
	}
	if delay < 0 {
		delay = g.cfg.Delay
	}
	g.done.Store(0)
	g.halted.Store(false)
	var (
		next      atomic.Int64 // tickets handed out; a user sends only with a ticket <= n
		failStrk  atomic.Int64 // consecutive connection-level failures, across users
		toStrk    atomic.Int64 // consecutive timeouts, across users
		abortOnce sync.Once
		aborted   string
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		mu        sync.Mutex
		res       = &Result{Errors: map[string]int{}}
	)
	// abort stops the run: users send no more requests, and the requests
	// in flight end at once (their connections are closed) and are not
	// counted.
	abort := func(why string) {
		abortOnce.Do(func() {
			aborted = why
			g.halted.Store(true)
			close(stop)
			g.closeConns()
		})
	}
	stopWatch := context.AfterFunc(ctx, func() { abort("stopped: " + context.Cause(ctx).Error()) })
	var uris []string
	for _, p := range g.cfg.Paths {
		uris = append(uris, "http://"+g.target.Host+p)
	}
	start := time.Now()
	for range g.cfg.Users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(g.target.String())
			req.Header.SetMethod(fasthttp.MethodGet)
			lat := make([]time.Duration, 0, n/g.cfg.Users+1)
			errs := map[string]int{}
			ok := 0
			var timer *time.Timer
			for {
				select {
				case <-stop:
					goto out
				case <-ctx.Done():
					goto out
				default:
				}
				ticket := next.Add(1)
				if ticket > int64(n) {
					break
				}
				if len(uris) > 0 {
					req.SetRequestURI(uris[(ticket-1)%int64(len(uris))])
				}
				t0 := time.Now()
				err := g.client.DoTimeout(req, resp, g.cfg.Timeout)
				if err != nil && stopped(stop) {
					goto out // cut off by abort: not a measurement
				}
				lat = append(lat, time.Since(t0))
				if d := g.done.Add(1); g.notify != nil && d%g.notifyEvery == 0 {
					select {
					case g.notify <- struct{}{}:
					default:
					}
				}
				if err != nil {
					kind := classify(err)
					errs[kind]++
					switch kind {
					case "refused", "closed", "reset":
						if failStrk.Add(1) >= abortAfter {
							abort(fmt.Sprintf("%d consecutive connection failures (last: %v); the server stopped or refuses connections", abortAfter, err))
						}
					case "timeout":
						if toStrk.Add(1) >= int64(g.cfg.MaxTimeouts) {
							abort(fmt.Sprintf("%d requests in a row timed out after %v: %s; if it is only slow, raise the timeout (--timeout), otherwise check that the URL is the server's HTTP endpoint",
								g.cfg.MaxTimeouts, g.cfg.Timeout, g.stalled()))
						}
					}
				} else {
					failStrk.Store(0)
					toStrk.Store(0)
					g.responses.Add(1)
					if sc := resp.StatusCode(); sc >= 200 && sc < 300 {
						ok++
					} else {
						errs["status "+strconv.Itoa(sc)]++
					}
				}
				if delay > 0 {
					if timer == nil {
						timer = time.NewTimer(delay)
					} else {
						timer.Reset(delay)
					}
					select {
					case <-timer.C:
					case <-stop:
						goto out
					case <-ctx.Done():
						goto out
					}
				}
			}
		out:
			mu.Lock()
			res.Latencies = append(res.Latencies, lat...)
			res.OK += ok
			for k, v := range errs {
				res.Errors[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	stopWatch()
	if stopped(stop) {
		// The connections closed by abort that fasthttp holds as idle
		// would fail the next run's first requests.
		g.client.CloseIdleConnections()
	}
	res.Duration = time.Since(start)
	res.Requests = len(res.Latencies)
	slices.Sort(res.Latencies)
	// The users may have seen ctx done before the AfterFunc ran; after
	// this Do a late abort cannot write aborted.
	abortOnce.Do(func() {
		if ctx.Err() != nil && res.Requests < n {
			aborted = "stopped: " + context.Cause(ctx).Error()
		}
	})
	res.Aborted = aborted
	return res, nil
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// classify names the kind of a request error.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed"
	}
	return "other"
}
