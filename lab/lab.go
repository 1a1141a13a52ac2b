// Package lab is the zero-GC experiment: it runs a Web API under load with
// garbage collection on or off and measures the server's memory over time,
// the bytes and objects it allocates per request, and where those bytes come
// from. It is the library behind "zerogc load". Besides the seed's route,
// the sample API has a Redis route ([RouteRedis]): GET /api/values/{key},
// read from a Redis server, to show whether a service that talks to a
// database can run with collection off.
//
// The sample API runs in a child process (see server.RunChildIfRequested,
// which every program using this package must call first thing in main), so
// that its memory is the server's alone. A user's own server on loopback can
// be loaded too ([Config.URL] and [Config.PID]); then the PID must be the
// process listening on the URL's port, and only the resident set size of
// it and its descendants (a master and its workers) is measured.
//
// No run hangs: timeouts stop a run whose server does not answer, and
// every run ends within [Config.Limit].
package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zerogc/zerogc/lab/loadgen"
	"github.com/zerogc/zerogc/lab/report"
	"github.com/zerogc/zerogc/lab/sampler"
	"github.com/zerogc/zerogc/lab/server"
)

// Config describes one load run.
type Config struct {
	// Flavor starts the lab's sample API in a child process. Leave it empty
	// to load a server of your own at URL.
	Flavor server.Flavor
	// GC configures the child's collector.
	GC server.GCMode
	// Port is the child's loopback port; 0 picks a free one.
	Port int
	// Route is the sample API's route that the load requests: RouteValues
	// (the default, GET /api/values) or RouteRedis (GET /api/values/{key},
	// read from the Redis server at Redis).
	Route Route
	// Redis is the address of the Redis server of RouteRedis. Before the
	// run, Keys keys of ValueSize bytes are stored there (see RedisKey);
	// the run's requests cycle through them.
	Redis string
	// Keys is the number of keys of RouteRedis (default 1000).
	Keys int
	// ValueSize is the size of their values in bytes (default 100).
	ValueSize int
	// Programs names, per flavor, a program of its own to run as the child
	// server instead of this one (see server.Options.Program). The nethttp
	// flavor's Redis route is such a program: bench/cmd/labredis, built
	// from the bench module because it links go-redis.
	Programs map[server.Flavor]string

	// URL and PID name a server of your own on loopback.
	URL string
	PID int

	// Users is the number of closed-loop users (default 10).
	Users int
	// Requests is the number of measured requests (default 100000).
	Requests int
	// Warmup is the number of requests sent, without delay, before
	// measuring, so that connections, buffers and pools are in place.
	Warmup int
	// Delay is each user's pause after a response (the seed used 10ms).
	Delay time.Duration
	// Timeout bounds one request (default 5s).
	Timeout time.Duration
	// MaxDuration bounds the whole run: starting the server, the warm-up
	// and the measured requests. 0 means [Config.Limit]'s worst case.
	MaxDuration time.Duration
	// SampleEvery is the memory sampling interval (default 100ms).
	// Besides, a sample is taken each time another 1/60 of the requests
	// has finished, so that a short run gets about 60 points too.
	SampleEvery time.Duration

	// Progress, if set, receives a progress bar (for a terminal).
	Progress io.Writer
	// Stderr receives the child server's standard error; nil discards it.
	Stderr io.Writer
}

func (c *Config) defaults() error {
	if c.Users == 0 {
		c.Users = 10
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = 100 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("lab: timeout must be positive, got %v", c.Timeout)
	case c.MaxDuration < 0:
		return fmt.Errorf("lab: the run's time limit must not be negative, got %v", c.MaxDuration)
	case c.Users < 1:
		return fmt.Errorf("lab: users must be at least 1, got %d", c.Users)
	case c.Requests < 1:
		return fmt.Errorf("lab: requests must be at least 1, got %d", c.Requests)
	case c.Warmup < 0:
		return fmt.Errorf("lab: warmup must not be negative, got %d", c.Warmup)
	case c.Delay < 0:
		return fmt.Errorf("lab: delay must not be negative, got %v", c.Delay)
	case c.Flavor != "" && c.URL != "":
		return errors.New("lab: give either a flavor (the lab's server) or a URL (your own), not both")
	case c.Flavor == "" && c.URL == "":
		return errors.New("lab: nothing to load: give a flavor (nethttp or zero) or the URL and PID of your own server")
	case c.URL != "" && c.PID == 0:
		return errors.New("lab: loading your own server needs its process id (PID) to measure its memory")
	}
	switch c.Route {
	case "":
		c.Route = RouteValues
	case RouteValues:
	case RouteRedis:
		if c.Keys == 0 {
			c.Keys = 1000
		}
		if c.ValueSize == 0 {
			c.ValueSize = 100
		}
		switch {
		case c.URL != "":
			return errors.New("lab: the Redis route is the lab's sample API: it does not apply to a server of your own (--url)")
		case c.Redis == "":
			return errors.New("lab: the Redis route needs the address of a Redis server (or let zerogc load start one: --redis start)")
		case c.Keys < 1:
			return fmt.Errorf("lab: keys must be at least 1, got %d", c.Keys)
		case c.ValueSize < minValueSize || c.ValueSize > maxValueSize:
			return fmt.Errorf("lab: value size must be %d..%d bytes, got %d", minValueSize, maxValueSize, c.ValueSize)
		}
	default:
		return fmt.Errorf("lab: unknown route %q: use %q or %q", c.Route, RouteValues, RouteRedis)
	}
	return nil
}

// startAllowance is the part of a run's worst case spent before the load:
// starting the child server (its ready timeout is 15s), the connection
// probe (2s) and reading its metrics.
const startAllowance = 30 * time.Second

// Limit returns the run's time limit: MaxDuration if set, and otherwise
// the longest a run can take when every request takes its full Timeout
// without failing the run:
//
//	30s + ceil(Warmup/Users)*Timeout + ceil(Requests/Users)*(Delay+Timeout)
//
// A server that stops answering altogether ends a run much sooner, after
// about one Timeout (see loadgen.Config.MaxTimeouts); the limit bounds a
// server that answers, but only just before each timeout.
func (c *Config) Limit() time.Duration {
	if c.MaxDuration > 0 {
		return c.MaxDuration
	}
	users := max(c.Users, 1)
	perUser := func(n int) time.Duration { return time.Duration((n + users - 1) / users) }
	return startAllowance + perUser(c.Warmup)*c.Timeout + perUser(c.Requests)*(c.Delay+c.Timeout)
}

// target is what a run loads: its URL, the process to watch and, for the
// lab's own server, its metrics.
type target struct {
	url   string
	paths []string // the paths to cycle through, if not only url's
	pid   int
	heap  sampler.HeapFunc
	child *server.Child
	// tree sums the RSS of pid's process tree: a server of the user's
	// own may be a master with workers (the lab's child is one process).
	tree bool
}

func start(cfg *Config, profile bool) (*target, error) {
	if cfg.Flavor != "" {
		opts := server.Options{Flavor: cfg.Flavor, GC: cfg.GC, Port: cfg.Port, Profile: profile,
			Stderr: cfg.Stderr, Program: cfg.Programs[cfg.Flavor]}
		var paths []string
		if cfg.Route == RouteRedis {
			if err := PopulateRedis(context.Background(), cfg.Redis, cfg.Keys, cfg.ValueSize); err != nil {
				return nil, err
			}
			opts.Redis = cfg.Redis
			paths = make([]string, cfg.Keys)
			for i := range paths {
				paths[i] = server.RedisPath + RedisKey(i)
			}
		}
		child, err := server.Start(opts)
		if err != nil {
			return nil, err
		}
		t := &target{url: child.URL, paths: paths, pid: child.PID, heap: child.Metrics, child: child}
		if paths != nil {
			t.url = "http://" + child.Addr + paths[0]
		}
		return t, nil
	}
	u, err := loadgen.ValidateURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if err := sampler.CheckPID(cfg.PID); err != nil {
		return nil, err
	}
	port, _ := strconv.Atoi(u.Port()) // ValidateURL fills in the port
	if err := sampler.CheckListener(cfg.PID, port); err != nil {
		return nil, err
	}
	return &target{url: cfg.URL, pid: cfg.PID, tree: true}, nil
}

func (t *target) stop() {
	if t.child != nil {
		_ = t.child.Stop()
	}
}

// Name returns the label of a run: "zero gc=off", "zero redis gc=off"
// on the Redis route, or the URL.
func (c *Config) Name() string {
	if c.Flavor != "" && c.Route == RouteRedis {
		return string(c.Flavor) + " redis gc=" + c.GC.String()
	}
	if c.Flavor != "" {
		return string(c.Flavor) + " gc=" + c.GC.String()
	}
	return c.URL
}

// Run performs one load run and returns its report. It ends within
// [Config.Limit]; a run stopped by the limit, by ctx or by a server that
// stopped answering returns what it measured with [report.Report.Aborted]
// set.
func Run(ctx context.Context, cfg Config) (*report.Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := limit(ctx, &cfg)
	defer cancel()
	t, err := start(&cfg, false)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	g, err := prepare(ctx, &cfg, t)
	if err != nil {
		return nil, err
	}

	var m0 server.Metrics
	if t.heap != nil {
		if m0, err = t.heap(); err != nil {
			return nil, err
		}
	}
	// The sampler starts before the measured run: its first sample must
	// count 0 requests, not the warm-up's.
	g.ResetDone()
	// Buffered: a wake that comes while a sample is being taken is not
	// lost, the sampler catches up.
	wake := make(chan struct{}, 16)
	g.Notify(wake, max(cfg.Requests/60, 1))
	smp, err := sampler.Start(sampler.Options{PID: t.pid, Tree: t.tree, Interval: cfg.SampleEvery,
		Heap: t.heap, Progress: g.Done, Wake: wake})
	if err != nil {
		return nil, err
	}
	stopBar := progress(cfg.Progress, cfg.Name(), cfg.Requests, g.Done)
	res, err := g.Run(ctx, cfg.Requests, cfg.Delay)
	stopBar()
	samples, serr := smp.Stop()
	if err != nil {
		return nil, err
	}
	if serr != nil {
		if res.Aborted != "" {
			return nil, fmt.Errorf("lab: the run stopped early: %s; sampling the server's memory failed too: %v", res.Aborted, serr)
		}
		return nil, fmt.Errorf("lab: sampling the server's memory failed (did it exit?): %v", serr)
	}
	rep := build(&cfg, t, res, samples)
	if t.heap != nil {
		m1, err := t.heap()
		if err != nil {
			return nil, err
		}
		setHeap(rep, m0, m1, res.Requests)
	}
	if res.Requests > 0 && res.OK == 0 {
		return rep, fmt.Errorf("lab: every request failed%s", errorSummary(res.Errors))
	}
	return rep, nil
}

// limit returns ctx bounded by the run's time limit, with a cause that
// says which limit it was.
func limit(ctx context.Context, cfg *Config) (context.Context, context.CancelFunc) {
	d := cfg.Limit()
	why := fmt.Sprintf("the run exceeded its time limit of %v (--max-time; by default the worst case for the flags: 30s + ceil(warmup/users)*timeout + ceil(requests/users)*(delay+timeout))", d)
	return context.WithTimeoutCause(ctx, d, errors.New(why))
}

// prepare checks that the target answers and runs the warm-up.
func prepare(ctx context.Context, cfg *Config, t *target) (*loadgen.Generator, error) {
	g, err := loadgen.New(loadgen.Config{URL: t.url, Paths: t.paths, Users: cfg.Users, Delay: cfg.Delay, Timeout: cfg.Timeout})
	if err != nil {
		return nil, err
	}
	if err := g.Probe(2 * time.Second); err != nil {
		return nil, err
	}
	if cfg.Warmup > 0 {
		w, err := g.Run(ctx, cfg.Warmup, 0)
		if err != nil {
			return nil, err
		}
		if w.Aborted != "" {
			return nil, fmt.Errorf("lab: the warm-up stopped after %d of %d requests (%d ok): %s", w.Requests, cfg.Warmup, w.OK, w.Aborted)
		}
		if w.OK == 0 {
			return nil, fmt.Errorf("lab: no warm-up request succeeded%s", errorSummary(w.Errors))
		}
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return g, nil
}

func errorSummary(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func build(cfg *Config, t *target, res *loadgen.Result, samples []sampler.Sample) *report.Report {
	r := &report.Report{
		Name: cfg.Name(), URL: t.url, PID: t.pid,
		Users: cfg.Users, Requests: cfg.Requests, Warmup: cfg.Warmup, Delay: cfg.Delay.String(),
		DurationSeconds:   res.Duration.Seconds(),
		RequestsPerSecond: res.RequestsPerSecond(),
		Latency: report.Latency{
			P50: report.Ms(res.Percentile(0.50)), P90: report.Ms(res.Percentile(0.90)),
			P99: report.Ms(res.Percentile(0.99)), Max: report.Ms(res.Percentile(1)),
		},
		OK: res.OK, Errors: res.Errors, ErrorCount: res.ErrorCount(), Aborted: res.Aborted,
		Samples: samples,
	}
	if cfg.Flavor != "" {
		r.Flavor, r.GC, r.Route = string(cfg.Flavor), cfg.GC.String(), string(cfg.Route)
	}
	for _, s := range samples {
		r.PeakRSSBytes = max(r.PeakRSSBytes, s.RSSBytes)
		r.Processes = max(r.Processes, s.Processes)
	}
	if len(samples) > 0 {
		r.RSSGrowthBytes = int64(samples[len(samples)-1].RSSBytes) - int64(samples[0].RSSBytes)
	}
	return r
}

func setHeap(r *report.Report, m0, m1 server.Metrics, requests int) {
	alloc := m1.AllocBytes - m0.AllocBytes
	gcs := m1.GCCycles - m0.GCCycles
	growth := int64(m1.HeapObjectsBytes) - int64(m0.HeapObjectsBytes)
	r.AllocatedBytes, r.GCCycles, r.HeapGrowthBytes = &alloc, &gcs, &growth
	if requests > 0 {
		bpr := float64(alloc) / float64(requests)
		opr := float64(m1.AllocObjects-m0.AllocObjects) / float64(requests)
		r.BytesPerRequest, r.ObjectsPerRequest = &bpr, &opr
	}
}

// Profile starts the lab's server with every allocation recorded, warms it
// up, serves one request and returns that request's allocation sites.
func Profile(ctx context.Context, cfg Config) (*server.Profile, error) {
	if cfg.Flavor == "" {
		return nil, errors.New("lab: --profile-request needs the lab's own server (a flavor): a server of your own cannot be asked for its heap profile")
	}
	cfg.Requests = 1
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	ctx, cancel := limit(ctx, &cfg)
	defer cancel()
	t, err := start(&cfg, true)
	if err != nil {
		return nil, err
	}
	defer t.stop()
	cfg.Users = 1 // one connection: the profiled request reuses the warm one
	g, err := prepare(ctx, &cfg, t)
	if err != nil {
		return nil, err
	}
	if err := t.child.ProfileBegin(); err != nil {
		return nil, err
	}
	res, err := g.Run(ctx, 1, 0)
	if err != nil {
		return nil, err
	}
	if res.OK != 1 {
		return nil, fmt.Errorf("lab: the profiled request failed%s", errorSummary(res.Errors))
	}
	// Let the server finish the request (it may still be writing or
	// returning buffers) before the second profile.
	time.Sleep(50 * time.Millisecond)
	return t.child.ProfileEnd()
}

// Compare runs every flavor with the collector on and off, one after the
// other, with the rest of cfg unchanged.
func Compare(ctx context.Context, cfg Config) ([]*report.Report, error) {
	var out []*report.Report
	for _, f := range []server.Flavor{server.NetHTTP, server.Zero} {
		for _, gc := range []server.GCMode{{}, {Off: true}} {
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("lab: comparison interrupted: %w", err)
			}
			c := cfg
			c.Flavor, c.GC = f, gc
			r, err := Run(ctx, c)
			if err != nil {
				return out, fmt.Errorf("%s: %w", c.Name(), err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// progress draws a progress bar on w until the returned function is called.
func progress(w io.Writer, name string, total int, done func() int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	draw := func() {
		n := done()
		const width = 30
		filled := int(int64(width) * n / int64(total))
		fmt.Fprintf(w, "\r%-22s [%s%s] %d/%d %5.1fs ", name, strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, total, time.Since(start).Seconds())
	}
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}
