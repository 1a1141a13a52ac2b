package resp_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/pipeline/pipelinetest"
	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/vtask"
)

func fakeClient(t testing.TB, opts resp.Options) (*fakeRedis, *resp.Client) {
	t.Helper()
	s := startFakeRedis()
	t.Cleanup(s.Close)
	c, err := resp.Dial(context.Background(), s.Addr(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

// must awaits task and fails the test on error.
func must(t testing.TB, task vtask.Task[resp.Value]) resp.Value {
	t.Helper()
	v, err := task.Await()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// commandSuite runs the client's commands against the server behind c.
func commandSuite(t *testing.T, c *resp.Client) {
	ctx := context.Background()
	key := "k:" + strconv.Itoa(rand.Int())
	if v := must(t, c.Ping(ctx)); v.Type != resp.SimpleString || v.String() != "PONG" {
		t.Fatalf("PING = %v", v)
	}
	if v := must(t, c.Get(ctx, key)); !v.IsNull() {
		t.Fatalf("GET of a missing key = %v, want Null", v)
	}
	if v := must(t, c.Set(ctx, key, []byte("v1"), resp.SetOptions{})); v.String() != "OK" {
		t.Fatalf("SET = %v", v)
	}
	buf := make([]byte, 0, 16)
	v := must(t, c.GetInto(ctx, key, buf))
	if v.Type != resp.BulkString || string(v.Str) != "v1" || &v.Str[0] != &buf[:1][0] {
		t.Fatalf("GetInto = %v (%s), want v1 in the caller's buffer", v, v.Type)
	}
	if v := must(t, c.Set(ctx, key, []byte("v2"), resp.SetOptions{NX: true})); !v.IsNull() {
		t.Fatalf("SET NX on an existing key = %v, want Null", v)
	}
	if v := must(t, c.Set(ctx, key, []byte("v3"), resp.SetOptions{XX: true, EX: 10 * time.Second})); v.String() != "OK" {
		t.Fatalf("SET XX EX = %v", v)
	}
	if v := must(t, c.Set(ctx, key+":px", []byte("p"), resp.SetOptions{PX: 1500 * time.Millisecond})); v.String() != "OK" {
		t.Fatalf("SET PX = %v", v)
	}
	if v := must(t, c.MGet(ctx, key, key+":missing", key+":px")); v.String() != "[v3 (nil) p]" {
		t.Fatalf("MGET = %v", v)
	}
	elems := make([]resp.Value, 0, 4)
	if v := must(t, c.MGetInto(ctx, buf, elems, key, key+":px")); v.String() != "[v3 p]" || &v.Array[0] != &elems[:1][0] {
		t.Fatalf("MGetInto = %v, want its elements in the caller's slice", v)
	}
	ctr := key + ":n"
	for i := 1; i <= 3; i++ {
		if v := must(t, c.Incr(ctx, ctr)); v.Type != resp.Integer || v.Int != int64(i) {
			t.Fatalf("INCR = %v, want %d", v, i)
		}
	}
	_, err := c.Incr(ctx, key).Await()
	var re *resp.Error
	if !errors.As(err, &re) || re.Prefix() != "ERR" {
		t.Fatalf("INCR of a string: %v, want a *resp.Error ERR", err)
	}
	if v := must(t, c.Do(ctx, "ECHO", "hi")); v.String() != "hi" {
		t.Fatalf("ECHO = %v", v)
	}
	if v := must(t, c.Del(ctx, key, ctr, key+":px", key+":missing")); v.Int != 3 {
		t.Fatalf("DEL = %v, want 3", v)
	}
	// The connection goes on after error replies.
	if _, err := c.Do(ctx, "NO-SUCH-COMMAND").Await(); !errors.As(err, &re) {
		t.Fatalf("unknown command: %v", err)
	}
	if v := must(t, c.Ping(ctx)); v.String() != "PONG" {
		t.Fatalf("PING after errors = %v", v)
	}
}

func TestClientCommandsFake(t *testing.T) {
	_, c := fakeClient(t, resp.Options{})
	commandSuite(t, c)
}

func TestClientRefusesBadArguments(t *testing.T) {
	_, c := fakeClient(t, resp.Options{})
	ctx := context.Background()
	for _, opt := range []resp.SetOptions{
		{EX: time.Second, PX: time.Second}, {NX: true, XX: true}, {EX: time.Millisecond},
		{PX: time.Microsecond}, {EX: -time.Second}, {KeepTTL: true, EX: time.Second},
	} {
		if _, err := c.Set(ctx, "k", nil, opt).Await(); err == nil {
			t.Errorf("Set with %+v succeeded", opt)
		}
	}
	if _, err := c.Do(ctx).Await(); err == nil {
		t.Error("Do with no command succeeded")
	}
	if _, err := c.Del(ctx).Await(); err == nil {
		t.Error("Del with no key succeeded")
	}
	if c.Outstanding() != 0 {
		t.Errorf("Outstanding = %d after refused calls", c.Outstanding())
	}
}

// TestReplyToCancelledCall: a call whose context ends while its (slow)
// reply is on the way gets ctx.Err() at once; the reply, when it comes, is
// discarded, the next call gets its own reply, and the source returns.
func TestReplyToCancelledCall(t *testing.T) {
	_, c := fakeClient(t, resp.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	buf := make([]byte, 0, 16)
	start := time.Now()
	_, err := c.DoInto(ctx, buf, nil, "FAKE.SLEEP", "200").AwaitContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 150*time.Millisecond {
		t.Fatalf("err = %v after %v, want DeadlineExceeded at once", err, time.Since(start))
	}
	buf = append(buf[:0], "mine"...) // the caller's again
	v := must(t, c.Do(context.Background(), "ECHO", "after"))
	if v.String() != "after" {
		t.Fatalf("the call after a cancelled one got %v (the cancelled reply was not discarded)", v)
	}
	if c.Outstanding() != 0 || string(buf) != "mine" {
		t.Fatalf("Outstanding = %d, buf = %q", c.Outstanding(), buf)
	}
}

// TestMalformedReplyFailsConnection: a reply the codec refuses fails the
// connection with a *resp.ProtocolError; every call in flight fails, none
// hangs, and the pool reconnects for the next call.
func TestMalformedReplyFailsConnection(t *testing.T) {
	_, c := fakeClient(t, resp.Options{Limits: resp.Limits{MaxBulk: 1 << 20}})
	ctx := context.Background()
	for _, raw := range []string{"?junk\r\n", "$99999999999\r\n", "$3\r\nabcdef\r\n", ":1x\r\n"} {
		bad := c.Do(ctx, "FAKE.RAW", raw)
		after := c.Do(ctx, "FAKE.SLEEP", "50")
		_, err := bad.Await()
		var pe *resp.ProtocolError
		var ce *pipeline.ConnError
		if !errors.As(err, &pe) || !errors.As(err, &ce) {
			t.Fatalf("%q: err = %v, want a *resp.ProtocolError in a *pipeline.ConnError", raw, err)
		}
		if _, err := after.Await(); !errors.As(err, &ce) {
			t.Fatalf("%q: the call behind it: %v, want the connection's error", raw, err)
		}
		pipelinetest.WaitFor(t, 5*time.Second, "no reconnect", func() bool {
			_, err := c.Ping(ctx).Await()
			return err == nil
		})
	}
	pipelinetest.WaitFor(t, time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
}

func TestServerClosesConnection(t *testing.T) {
	_, c := fakeClient(t, resp.Options{})
	ctx := context.Background()
	slow := c.Do(ctx, "FAKE.SLEEP", "30")
	closing := c.Do(ctx, "FAKE.CLOSE")
	if _, err := slow.Await(); err != nil {
		t.Fatalf("the call before the close: %v", err)
	}
	var ce *pipeline.ConnError
	if _, err := closing.Await(); !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *pipeline.ConnError", err)
	}
}

// TestFakeStressCancel: 16 goroutines, a tenth of the calls with a
// deadline that may end before the reply; every other reply matches its
// key, no goroutine is left, every source returns.
func TestFakeStressCancel(t *testing.T) {
	_, c := fakeClient(t, resp.Options{Window: 32})
	stressCancel(t, c, 16, 4000)
}

// stressCancel runs goroutines×(calls/goroutines) SET-then-GETs, a tenth
// with a context that ends at a random point.
func stressCancel(t *testing.T, c *resp.Client, goroutines, calls int) {
	t.Helper()
	ctx := context.Background()
	// A round trip first, so that the server has accepted the connection
	// and started its goroutine before they are counted.
	must(t, c.Ping(ctx))
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var okCalls, cancelled int
	for g := range goroutines {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			val := make([]byte, 0, 64)
			key := "stress:" + strconv.Itoa(g)
			ok, canc := 0, 0
			for i := range calls / goroutines {
				val = strconv.AppendInt(append(val[:0], key...), int64(i), 10)
				if _, err := c.Set(ctx, key, val, resp.SetOptions{}).Await(); err != nil {
					t.Errorf("SET: %v", err)
					return
				}
				cctx, cancel := ctx, context.CancelFunc(func() {})
				if rand.IntN(10) == 0 {
					cctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(200))*time.Microsecond)
				}
				v, err := c.GetInto(cctx, key, buf).AwaitContext(cctx)
				cancel()
				switch {
				case err != nil && cctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
					canc++
				case err != nil:
					t.Errorf("GET %s: %v", key, err)
					return
				case string(v.Str) != string(val):
					t.Errorf("GET %s = %q, want %q", key, v.Str, val)
					return
				default:
					ok++
				}
			}
			mu.Lock()
			okCalls += ok
			cancelled += canc
			mu.Unlock()
		})
	}
	wg.Wait()
	pipelinetest.WaitFor(t, 5*time.Second, "sources not returned", func() bool { return c.Outstanding() == 0 })
	pipelinetest.NoGoroutineGrowth(t, before)
	if okCalls == 0 {
		t.Fatal("no call succeeded")
	}
	t.Logf("%d GETs matched their key, %d cancelled", okCalls, cancelled)
}
