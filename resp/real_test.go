package resp_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/pipeline/pipelinetest"
	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/resp/redistest"
	"github.com/zerogc/zerogc/vtask"
)

// The tests against a real redis-server (Debian's package; see
// redistest): without it they skip, saying how to install it, except
// under CI=true, where they fail.

func realClient(t testing.TB, opts resp.Options) (*redistest.Server, *resp.Client) {
	t.Helper()
	s := redistest.Start(t)
	c, err := resp.Dial(context.Background(), s.Addr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func TestRealCommands(t *testing.T) {
	_, c := realClient(t, resp.Options{})
	commandSuite(t, c)
}

// TestRealKilledMidFlight: the server is killed with calls in flight on
// every connection (one blocked in BLPOP, many queued behind it) and more
// being submitted; every call ends with an error, none hangs.
func TestRealKilledMidFlight(t *testing.T) {
	s, c := realClient(t, resp.Options{Conns: 2})
	ctx := context.Background()
	blocked := []vtask.Task[resp.Value]{c.Do(ctx, "BLPOP", "nothing", "0"), c.Do(ctx, "BLPOP", "nothing", "0")}
	var queued []vtask.Task[resp.Value]
	for i := range 200 {
		queued = append(queued, c.Do(ctx, "ECHO", strconv.Itoa(i)))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Ping(ctx).Await(); err != nil {
					failed.Add(1)
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	s.Kill()
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Every call is queued behind a BLPOP that never returns:
		// each must end with the connection's error.
		for i, task := range append(blocked, queued...) {
			if v, err := task.Await(); err == nil {
				t.Errorf("call %d succeeded (%v) on a killed server", i, v)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("calls in flight hang after the server was killed")
	}
	pipelinetest.WaitFor(t, 5*time.Second, "no call failed after the kill", func() bool { return failed.Load() > 0 })
	close(stop)
	wg.Wait()
	pipelinetest.WaitFor(t, 5*time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
}

// TestRealBlockedCallFailsOnKill: the call blocked in the server fails with
// an error (it cannot succeed: the server died before answering).
func TestRealBlockedCallFailsOnKill(t *testing.T) {
	s, c := realClient(t, resp.Options{})
	task := c.Do(context.Background(), "BLPOP", "nothing", "0")
	time.Sleep(10 * time.Millisecond)
	s.Kill()
	res := make(chan error, 1)
	go func() {
		_, err := task.Await()
		res <- err
	}()
	select {
	case err := <-res:
		if err == nil {
			t.Fatal("BLPOP succeeded on a killed server")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked call hangs after the server was killed")
	}
}

// TestRealRestartReconnects: after the server is killed, calls fail fast;
// once it is back on the same port, the pool has reconnected every
// connection.
func TestRealRestartReconnects(t *testing.T) {
	s, c := realClient(t, resp.Options{Conns: 3})
	ctx := context.Background()
	must(t, c.Set(ctx, "k", []byte("before"), resp.SetOptions{}))
	s.Kill()
	start := time.Now()
	for range 10 {
		if _, err := c.Ping(ctx).Await(); err == nil {
			t.Fatal("PING succeeded with the server down")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("failing calls took %v: they should fail fast", d)
	}
	s.Restart(t)
	pipelinetest.WaitFor(t, 10*time.Second, "the pool did not reconnect", func() bool {
		for range 3 { // round robin: every connection is tried
			if _, err := c.Ping(ctx).Await(); err != nil {
				return false
			}
		}
		return true
	})
	if v := must(t, c.Get(ctx, "k")); !v.IsNull() {
		t.Fatalf("GET after restart = %v, want Null (no persistence)", v)
	}
	pipelinetest.WaitFor(t, 5*time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
}

// TestRealClientPauseHonoursDeadlines: with the server paused (CLIENT
// PAUSE), calls given a deadline end at the deadline, whether they wait
// for the reply or for room in a full window; after the pause everything
// is answered and every source returns.
func TestRealClientPauseHonoursDeadlines(t *testing.T) {
	_, c := realClient(t, resp.Options{Window: 8})
	ctx := context.Background()
	must(t, c.Do(ctx, "CLIENT", "PAUSE", "700", "ALL"))
	const calls = 40 // more than the window: some wait for room
	var wg sync.WaitGroup
	var late, ok atomic.Int64
	for i := range calls {
		wg.Go(func() {
			dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Get(dctx, "k"+strconv.Itoa(i)).AwaitContext(dctx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("call %d during the pause: %v, want DeadlineExceeded", i, err)
			}
			if time.Since(start) > 400*time.Millisecond {
				late.Add(1)
			} else {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if late.Load() > 0 {
		t.Fatalf("%d of %d calls returned long after their 50ms deadline", late.Load(), calls)
	}
	// After the pause the abandoned replies arrive and are discarded.
	pipelinetest.WaitFor(t, 5*time.Second, "sources not returned after the pause", func() bool { return c.Outstanding() == 0 })
	if v := must(t, c.Ping(ctx)); v.String() != "PONG" {
		t.Fatalf("PING after the pause = %v", v)
	}
}

// TestReal100kCallsTenthCancelled: 100,000 GETs (under -race too: about
// 5 s on a 2-core machine; 10,000 with -short), issued four at a time by
// each of 8 goroutines; a tenth are given up by their holder at once,
// with the request on the wire, and a twentieth more get a deadline that
// ends at a random point. No goroutine growth, every source returned,
// every reply that is not cancelled matches its key.
func TestReal100kCallsTenthCancelled(t *testing.T) {
	total := 100_000
	if testing.Short() {
		total = 10_000
	}
	_, c := realClient(t, resp.Options{Conns: 2, Window: 64})
	ctx := context.Background()
	const goroutines, keysPer, inFlight = 8, 16, 4
	for g := range goroutines {
		for k := range keysPer {
			key := "key:" + strconv.Itoa(g) + ":" + strconv.Itoa(k)
			must(t, c.Set(ctx, key, []byte("value-of-"+key), resp.SetOptions{}))
		}
	}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	var matched, cancelled atomic.Int64
	for g := range goroutines {
		wg.Go(func() {
			keys := make([]string, keysPer)
			for k := range keys {
				keys[k] = "key:" + strconv.Itoa(g) + ":" + strconv.Itoa(k)
			}
			var bufs [inFlight][]byte
			for i := range bufs {
				bufs[i] = make([]byte, 0, 64)
			}
			var tasks [inFlight]vtask.Task[resp.Value]
			var ctxs [inFlight]context.Context
			var cancels [inFlight]context.CancelFunc
			var which [inFlight]int
			type result struct {
				v       resp.Value
				err     error
				awaited bool
			}
			var results [inFlight]result
			for i := 0; i < total/goroutines; i += inFlight {
				for j := range inFlight {
					ctxs[j], cancels[j] = ctx, nil
					results[j] = result{}
					cancelNow := false
					switch r := rand.IntN(20); {
					case r < 2: // a tenth: cancelled with the call on the wire
						ctxs[j], cancels[j] = context.WithCancel(ctx)
						cancelNow = true
					case r == 2: // a deadline that ends at a random point
						ctxs[j], cancels[j] = context.WithTimeout(ctx, time.Duration(rand.IntN(300))*time.Microsecond)
					}
					which[j] = rand.IntN(keysPer)
					tasks[j] = c.GetInto(ctxs[j], keys[which[j]], bufs[j])
					if cancelNow {
						// Its holder gives up at once, with the
						// request sent or about to be.
						cancels[j]()
						v, err := tasks[j].AwaitContext(ctxs[j])
						results[j] = result{v, err, true}
					}
				}
				for j := range inFlight {
					v, err := results[j].v, results[j].err
					if !results[j].awaited {
						v, err = tasks[j].AwaitContext(ctxs[j])
					}
					if cancels[j] != nil {
						cancels[j]()
					}
					switch {
					case err != nil && ctxs[j].Err() != nil && errors.Is(err, ctxs[j].Err()):
						cancelled.Add(1)
					case err != nil:
						t.Errorf("GET: %v", err)
						return
					case string(v.Str) != "value-of-"+keys[which[j]]:
						t.Errorf("GET %s = %q: a reply went to the wrong call", keys[which[j]], v.Str)
						return
					default:
						matched.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	pipelinetest.WaitFor(t, 10*time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
	pipelinetest.NoGoroutineGrowth(t, before)
	n := matched.Load() + cancelled.Load()
	if n != int64(total/goroutines/inFlight*inFlight*goroutines) {
		t.Fatalf("%d calls ended, want %d", n, total)
	}
	if cancelled.Load() < n/20 || matched.Load() < n*8/10 {
		t.Fatalf("%d matched, %d cancelled: the 10%% cancellation did not happen as planned", matched.Load(), cancelled.Load())
	}
	t.Logf("%d calls: %d matched their key, %d cancelled", n, matched.Load(), cancelled.Load())
}
