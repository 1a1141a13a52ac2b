package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/pipeline/pipelinetest"
	"github.com/zerogc/zerogc/vtask"
)

func TestTaggedOutOfOrder(t *testing.T) {
	s := startLineServer(t, func(s *lineServer) { s.reorder = true })
	c := dialLine(t, s, pipeline.Options{Window: 32, Tagged: true})
	const n = 32
	tasks := make([]vtask.Task[[]byte], n)
	bufs := make([][]byte, n)
	for round := range 20 {
		for i := range tasks {
			bufs[i] = make([]byte, 0, 16)
			tasks[i] = call(context.Background(), c, []byte(fmt.Sprintf("r%d-%d", round, i)), bufs[i])
		}
		res, err := vtask.WhenAll(tasks, nil).Await()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range res {
			if want := fmt.Sprintf("r%d-%d", round, i); string(v) != want {
				t.Fatalf("reply %d = %q, want %q (a tagged reply went to the wrong call)", i, v, want)
			}
		}
	}
}

func TestReplySplitAcrossReads(t *testing.T) {
	s := startLineServer(t, func(s *lineServer) { s.split = true })
	c := dialLine(t, s, pipeline.Options{ReadBuffer: 8, Window: 8})
	for i := range 20 {
		want := "split-" + strconv.Itoa(i) + "-0123456789abcdef"
		v, err := call(context.Background(), c, []byte(want), nil).Await()
		if err != nil || string(v) != want {
			t.Fatalf("got %q, %v; want %q", v, err, want)
		}
	}
}

func TestCallErrorKeepsConnection(t *testing.T) {
	s := startLineServer(t, nil)
	c := dialLine(t, s, pipeline.Options{})
	_, err := call(context.Background(), c, []byte("!no such thing"), nil).Await()
	var er *errorReply
	if !errors.As(err, &er) || er.msg != "no such thing" {
		t.Fatalf("err = %v, want the server's error", err)
	}
	if v, err := call(context.Background(), c, []byte("after"), nil).Await(); err != nil || string(v) != "after" {
		t.Fatalf("after an error reply: %q, %v", v, err)
	}
}

// TestWindowWaitHonoursDeadline: with the window full, Begin returns the
// context's error at its deadline, not when room appears.
func TestWindowWaitHonoursDeadline(t *testing.T) {
	s := startLineServer(t, func(s *lineServer) { s.gate = make(chan struct{}) })
	c := dialLine(t, s, pipeline.Options{Window: 2})
	held := []vtask.Task[[]byte]{
		call(context.Background(), c, []byte("a"), nil),
		call(context.Background(), c, []byte("b"), nil),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := call(ctx, c, []byte("c"), nil).Await()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Begin returned after %v, long past its 30ms deadline", d)
	}
	s.OpenGate()
	for _, h := range held {
		if _, err := h.Await(); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Outstanding(); got != 0 {
		t.Fatalf("Outstanding = %d, want 0", got)
	}
}

// TestCancelledCallRecycledWhenReplyArrives: AwaitContext returns at once;
// the reply, arriving later, is discarded without touching the caller's
// buffer, and the source returns to its pool.
func TestCancelledCallRecycledWhenReplyArrives(t *testing.T) {
	s := startLineServer(t, func(s *lineServer) { s.gate = make(chan struct{}) })
	c := dialLine(t, s, pipeline.Options{})
	buf := make([]byte, 0, 16)
	ctx, cancel := context.WithCancel(context.Background())
	task := call(ctx, c, []byte("late"), buf)
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, err := task.AwaitContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
	if c.Outstanding() != 1 {
		t.Fatalf("Outstanding = %d before the reply, want 1", c.Outstanding())
	}
	goroutines := runtime.NumGoroutine()
	// The caller owns buf again: write it while the reply comes in (the
	// race detector sees any write by the reader).
	buf = append(buf[:0], "mine"...)
	s.OpenGate()
	pipelinetest.WaitFor(t, time.Second, "abandoned source not returned", func() bool { return c.Outstanding() == 0 })
	if string(buf) != "mine" {
		t.Fatalf("the abandoned reply was written into the caller's buffer: %q", buf)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Fatalf("goroutines grew from %d to %d for an abandoned call", goroutines, g)
	}
	if v, err := call(context.Background(), c, []byte("next"), nil).Await(); err != nil || string(v) != "next" {
		t.Fatalf("next call: %q, %v (the abandoned reply was not consumed in order)", v, err)
	}
}

// TestConnFailureFailsEveryCall: the server drops the connection with
// calls in flight and calls waiting for room; every one ends with a
// *ConnError, and later calls too.
func TestConnFailureFailsEveryCall(t *testing.T) {
	s := startLineServer(t, func(s *lineServer) { s.gate = make(chan struct{}) })
	c := dialLine(t, s, pipeline.Options{Window: 4})
	errs := make(chan error, 10)
	for i := range 10 {
		go func() {
			_, err := call(context.Background(), c, []byte("x"+strconv.Itoa(i)), nil).Await()
			errs <- err
		}()
	}
	pipelinetest.WaitFor(t, time.Second, "calls not in flight", func() bool { return c.Outstanding() == 4 })
	s.DropConns()
	for range 10 {
		select {
		case err := <-errs:
			var ce *pipeline.ConnError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConnError", err)
			}
			if !errors.Is(err, io.EOF) && ce.Op != "read" {
				t.Fatalf("err = %v: the cause should be the read's failure", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a call hung after its connection failed")
		}
	}
	if _, err := call(context.Background(), c, []byte("later"), nil).Await(); err == nil {
		t.Fatal("a call on a failed connection succeeded")
	}
	if c.Err() == nil {
		t.Fatal("Err() = nil on a failed connection")
	}
	pipelinetest.WaitFor(t, time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
}

func TestCloseFailsInFlight(t *testing.T) {
	s := startLineServer(t, func(s *lineServer) { s.gate = make(chan struct{}) })
	c := dialLine(t, s, pipeline.Options{})
	task := call(context.Background(), c, []byte("x"), nil)
	c.Close()
	if _, err := task.Await(); !errors.Is(err, pipeline.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

// TestStressRandomCancel: many goroutines, a tenth of the calls given a
// context that ends before the reply; every other reply matches its call,
// and every source returns.
func TestStressRandomCancel(t *testing.T) {
	bothModes(t, func(t *testing.T, tagged bool) {
		s := startLineServer(t, func(s *lineServer) { s.reorder = tagged })
		stressRandomCancel(t, dialLine(t, s, pipeline.Options{Window: 16, Tagged: tagged}))
	})
}

// bothModes runs fn as a subtest for a FIFO and for a tagged connection
// (whose server answers out of order).
func bothModes(t *testing.T, fn func(t *testing.T, tagged bool)) {
	for _, tagged := range []bool{false, true} {
		t.Run(fmt.Sprintf("tagged=%v", tagged), func(t *testing.T) { fn(t, tagged) })
	}
}

func stressRandomCancel(t *testing.T, c *pipeline.Conn[[]byte]) {
	// A round trip first, so that the server's goroutine is counted.
	if _, err := call(context.Background(), c, []byte("warm"), nil).Await(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	const goroutines, calls = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			buf := make([]byte, 0, 32)
			for i := range calls {
				want := fmt.Sprintf("g%d-%d", g, i)
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if rand.IntN(10) == 0 {
					// Ends before Begin, while waiting for room,
					// or with the call on the wire.
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rand.IntN(300))*time.Microsecond)
				}
				v, err := call(ctx, c, []byte(want), buf).AwaitContext(ctx)
				cancel()
				switch {
				case ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
				case err != nil:
					t.Errorf("call %s: %v", want, err)
					return
				case string(v) != want:
					t.Errorf("call %s = %q", want, v)
					return
				}
			}
		})
	}
	wg.Wait()
	pipelinetest.WaitFor(t, 2*time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
	pipelinetest.NoGoroutineGrowth(t, before)
}

// TestContinuationMaySubmit: a continuation runs on the reader; it can
// submit the next call even when the window is full.
func TestContinuationMaySubmit(t *testing.T) {
	s := startLineServer(t, nil)
	c := dialLine(t, s, pipeline.Options{Window: 1})
	done := make(chan string, 1)
	first := call(context.Background(), c, []byte("one"), nil)
	err := first.OnCompleted(func(any) {
		v, _ := first.Result()
		next := call(context.Background(), c, append(v, "-two"...), nil)
		go func() {
			w, _ := next.Await()
			done <- string(w)
		}()
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got != "one-two" {
			t.Fatalf("got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a continuation submitting a call deadlocked the reader")
	}
}

func TestPoolReplacesFailedConn(t *testing.T) {
	s := startLineServer(t, nil)
	p, err := pipeline.NewPool[[]byte](context.Background(), 2, s.Dial, lineCodec{}, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	use := func() error {
		c, err := p.Pick()
		if err != nil {
			return err
		}
		v, err := call(context.Background(), c, []byte("hi"), nil).Await()
		if err == nil && string(v) != "hi" {
			return fmt.Errorf("got %q", v)
		}
		return err
	}
	for range 4 {
		if err := use(); err != nil {
			t.Fatal(err)
		}
	}
	s.DropConns()
	pipelinetest.WaitFor(t, 5*time.Second, "the pool did not reconnect", func() bool {
		// Both places work again: two picks in a row succeed.
		first := use()
		return first == nil && use() == nil
	})
	pipelinetest.WaitFor(t, time.Second, "sources not returned", func() bool { return p.Outstanding() == 0 })
	p.Close()
	if _, err := p.Pick(); !errors.Is(err, pipeline.ErrPoolClosed) {
		t.Fatalf("Pick after Close: %v", err)
	}
}

// TestStressPoolFailuresUnderLoad: goroutines keep calling through a Pool
// while the server drops every connection, twice; every call ends (with
// its reply or a *ConnError), the pool recovers, every source returns and
// no goroutine is left once the pool is closed.
func TestStressPoolFailuresUnderLoad(t *testing.T) {
	bothModes(t, func(t *testing.T, tagged bool) {
		before := runtime.NumGoroutine()
		s := startLineServer(t, func(s *lineServer) { s.reorder = tagged })
		p, err := pipeline.NewPool[[]byte](context.Background(), 2, s.Dial, lineCodec{}, pipeline.Options{Window: 8, Tagged: tagged})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var okCalls, failed atomic.Int64
		for g := range 8 {
			wg.Go(func() {
				buf := make([]byte, 0, 32)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					want := fmt.Sprintf("g%d-%d", g, i)
					c, err := p.Pick()
					if err == nil {
						var v []byte
						v, err = call(context.Background(), c, []byte(want), buf).Await()
						if err == nil && string(v) != want {
							t.Errorf("got %q, want %q", v, want)
							return
						}
					}
					if err != nil {
						var ce *pipeline.ConnError
						if !errors.As(err, &ce) && !strings.Contains(err.Error(), "no connection works") {
							t.Errorf("unexpected error: %v", err)
							return
						}
						failed.Add(1)
						time.Sleep(100 * time.Microsecond)
						continue
					}
					okCalls.Add(1)
				}
			})
		}
		for range 2 {
			time.Sleep(30 * time.Millisecond)
			s.DropConns()
		}
		pipelinetest.WaitFor(t, 5*time.Second, "the pool did not recover", func() bool {
			n := okCalls.Load()
			time.Sleep(10 * time.Millisecond)
			return okCalls.Load() > n+10
		})
		close(stop)
		wg.Wait()
		pipelinetest.WaitFor(t, 2*time.Second, "sources not returned", func() bool { return p.Outstanding() == 0 })
		p.Close()
		s.Close()
		pipelinetest.WaitFor(t, 2*time.Second, "goroutines left after Close", func() bool { return runtime.NumGoroutine() <= before })
		if failed.Load() == 0 {
			t.Fatal("no call failed: the connections were not dropped under load")
		}
		t.Logf("%d calls succeeded, %d failed with the connection", okCalls.Load(), failed.Load())
	})
}
