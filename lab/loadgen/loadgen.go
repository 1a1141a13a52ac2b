// Package loadgen is the lab's load generator: closed-loop users, each with
// its own keep-alive connection, that send GET requests to a loopback URL,
// wait for the response, pause for a delay and go again, until an exact
// total of requests has been sent.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
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
	// Users is the number of concurrent closed-loop users (at least 1).
	Users int
	// Delay is each user's pause after every response.
	Delay time.Duration
	// Timeout bounds one request; 0 means 5 seconds.
	Timeout time.Duration
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
	return &Generator{
		cfg:    cfg,
		target: u,
		client: &fasthttp.HostClient{
			Addr:                     u.Host,
			MaxConns:                 cfg.Users,
			ReadTimeout:              cfg.Timeout,
			WriteTimeout:             cfg.Timeout,
			MaxIdleConnDuration:      time.Minute,
			NoDefaultUserAgentHeader: true,
			DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
				return net.DialTimeout("tcp", addr, min(timeout, cfg.Timeout))
			},
		},
	}, nil
}

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
	var (
		next      atomic.Int64 // tickets handed out; a user sends only with a ticket <= n
		failStrk  atomic.Int64 // consecutive connection-level failures, across users
		abortOnce sync.Once
		aborted   string
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		mu        sync.Mutex
		res       = &Result{Errors: map[string]int{}}
	)
	abort := func(why string) {
		abortOnce.Do(func() { aborted = why; close(stop) })
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
				if next.Add(1) > int64(n) {
					break
				}
				t0 := time.Now()
				err := g.client.DoTimeout(req, resp, g.cfg.Timeout)
				lat = append(lat, time.Since(t0))
				g.done.Add(1)
				if err != nil {
					kind := classify(err)
					errs[kind]++
					if kind == "refused" || kind == "closed" || kind == "reset" {
						if failStrk.Add(1) >= abortAfter {
							abort(fmt.Sprintf("%d consecutive connection failures (last: %v); the server stopped or refuses connections", abortAfter, err))
						}
					}
				} else {
					failStrk.Store(0)
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
	res.Duration = time.Since(start)
	res.Requests = len(res.Latencies)
	slices.Sort(res.Latencies)
	res.Aborted = aborted
	if res.Aborted == "" && ctx.Err() != nil && res.Requests < n {
		res.Aborted = "canceled: " + ctx.Err().Error()
	}
	return res, nil
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
