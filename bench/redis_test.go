package bench

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/zerogc/zerogc/resp/redistest"
)

// startLoadedRedis starts a redis-server for the test and loads the keys.
func startLoadedRedis(t *testing.T) (*redistest.Server, *RawConn) {
	t.Helper()
	srv := redistest.Start(t)
	if err := LoadRedisKeys(srv.Addr); err != nil {
		t.Fatal(err)
	}
	raw, err := DialRaw(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return srv, raw
}

// eachRedisClient runs fn as a subtest per Redis contender, on a fresh
// client of the server at addr.
func eachRedisClient(t *testing.T, addr string, fn func(t *testing.T, rc RedisContender, client RedisClient)) {
	for _, rc := range RedisContenders() {
		t.Run(rc.Name, func(t *testing.T) {
			client, err := rc.Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			fn(t, rc, client)
		})
	}
}

func rawDo(t *testing.T, raw *RawConn, args ...string) string {
	t.Helper()
	v, err := raw.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// TestRedisContenders checks every contender's adapter against the real
// server: Set really writes the value (read back over a plain connection),
// Get and GetBatch really read the server's value (a value changed behind
// the client's back is reported as ErrWrongValue), and a missing key is an
// error.
func TestRedisContenders(t *testing.T) {
	srv, raw := startLoadedRedis(t)
	ctx := context.Background()
	eachRedisClient(t, srv.Addr, func(t *testing.T, rc RedisContender, client RedisClient) {
		sess := client.NewSession()

		for _, k := range []int{0, 7, RedisKeys - 1} {
			rawDo(t, raw, "SET", RedisKey(k), "not-yet-set-by-"+rc.Name)
			if err := sess.Set(ctx, k); err != nil {
				t.Fatalf("Set(%s): %v", RedisKey(k), err)
			}
			if got := rawDo(t, raw, "GET", RedisKey(k)); got != RedisValue(k) {
				t.Fatalf("after Set, the server holds %q for %s; want %q", got, RedisKey(k), RedisValue(k))
			}
			if err := sess.Get(ctx, k); err != nil {
				t.Fatalf("Get(%s) after Set: %v", RedisKey(k), err)
			}
		}

		rawDo(t, raw, "SET", RedisKey(3), "changed-behind-the-client")
		if err := sess.Get(ctx, 3); !errors.Is(err, ErrWrongValue) {
			t.Errorf("Get of a key changed on the server: err = %v; want ErrWrongValue", err)
		}
		keys := make([]int, RedisBatch)
		for i := range keys {
			keys[i] = (i*7 + 100) % RedisKeys
		}
		keys[RedisBatch/2] = 3
		if err := sess.GetBatch(ctx, keys); !errors.Is(err, ErrWrongValue) {
			t.Errorf("GetBatch with one key changed on the server: err = %v; want ErrWrongValue", err)
		}
		if err := sess.Set(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if err := sess.GetBatch(ctx, keys); err != nil {
			t.Errorf("GetBatch of %d keys: %v", len(keys), err)
		}
		if err := sess.GetBatch(ctx, keys[:1]); err != nil {
			t.Errorf("GetBatch of one key: %v", err)
		}

		rawDo(t, raw, "DEL", RedisKey(5))
		if err := sess.Get(ctx, 5); err == nil {
			t.Error("Get of a deleted key: nil error; want one")
		}
		if err := sess.Set(ctx, 5); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCrewCountsEveryCall runs a short deadline phase on every contender,
// under -race too: every call is counted once, every deadline call is
// counted, no wrong value comes back, and timed-out calls are deadline
// errors rather than failures.
func TestCrewCountsEveryCall(t *testing.T) {
	srv, _ := startLoadedRedis(t)
	const calls = 3000
	eachRedisClient(t, srv.Addr, func(t *testing.T, _ RedisContender, client RedisClient) {
		ops, deadlines := SplitOps(1, calls, MixWorkers, DeadlinePercent)
		crew := NewCrew(client, deadlines, true)
		defer crew.Stop()
		st, err := crew.Phase(ops)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, n := range deadlines {
			want += n
		}
		if st.Calls != calls || st.DeadlineCalls != want || st.Latency.Count() != calls {
			t.Errorf("calls %d, deadline calls %d, latencies %d; want %d, %d, %d", st.Calls, st.DeadlineCalls, st.Latency.Count(), calls, want, calls)
		}
		if st.DeadlineHits > st.DeadlineCalls {
			t.Errorf("%d deadline hits out of %d deadline calls", st.DeadlineHits, st.DeadlineCalls)
		}
		if st.Failed > 0 {
			t.Logf("%d calls failed otherwise; the first: %v", st.Failed, st.FirstFailure)
		}
	})
}

func TestSplitOps(t *testing.T) {
	ops, deadlines := SplitOps(0, 1000, MixWorkers, DeadlinePercent)
	total, sets, dl := 0, 0, 0
	for i, w := range ops {
		total += len(w)
		n := 0
		for _, op := range w {
			if op.Key() < 0 || op.Key() >= RedisKeys {
				t.Fatalf("key %d out of range", op.Key())
			}
			if op.IsSet() {
				sets++
			}
			if op.HasDeadline() {
				n++
			}
		}
		if n != deadlines[i] {
			t.Errorf("worker %d: %d deadline ops, SplitOps says %d", i, n, deadlines[i])
		}
		dl += n
	}
	if total != 1000 {
		t.Errorf("%d ops in all; want 1000", total)
	}
	// 20 % SETs and 10 % deadlines, within a generous margin for 1000 draws.
	if sets < 150 || sets > 250 || dl < 60 || dl > 140 {
		t.Errorf("%d SETs and %d deadline ops out of 1000; want about 200 and 100", sets, dl)
	}
	again, _ := SplitOps(0, 1000, MixWorkers, DeadlinePercent)
	for i := range ops {
		for j := range ops[i] {
			if ops[i][j] != again[i][j] {
				t.Fatal("SplitOps with the same seed drew different ops: contenders would not run the same calls")
			}
		}
	}
	one, _ := SplitOps(0, 1, MixWorkers, 0)
	if len(one[0]) != 1 || len(one[1]) != 0 {
		t.Errorf("b.N = 1: worker lengths %d, %d; want 1, 0", len(one[0]), len(one[1]))
	}
}

func TestDeadlineSourceExpires(t *testing.T) {
	s := NewDeadlineSource(2, time.Millisecond)
	defer s.Close()
	ctx := s.Arm()
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > time.Millisecond {
		t.Errorf("Deadline() = %v, %v; want about 1 ms from now, true", d, ok)
	}
	if ctx.Err() != nil {
		t.Errorf("Err() before the deadline = %v; want nil", ctx.Err())
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5 s after a 1 ms deadline")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !IsDeadlineError(ctx.Err()) {
		t.Errorf("Err() after the deadline = %v; want context.DeadlineExceeded", ctx.Err())
	}
	s.Disarm()

	// Armed and disarmed before its deadline: never expires.
	s2 := NewDeadlineSource(1, 50*time.Millisecond)
	defer s2.Close()
	early := s2.Arm()
	s2.Disarm()
	time.Sleep(100 * time.Millisecond)
	if early.Err() != nil {
		t.Errorf("a context disarmed before its deadline expired: %v", early.Err())
	}
	// Arming past the prepared contexts still works.
	extra := s.Arm()
	extra2 := s.Arm()
	<-extra2.Done()
	s.Disarm()
	if extra == extra2 {
		t.Error("Arm returned the same context twice")
	}
}

// TestDeadlineSourceStress arms and disarms many short deadlines on several
// sources at once (run it with -race): a context expires only once its
// deadline has passed, and never twice.
func TestDeadlineSourceStress(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewDeadlineSource(2000, 20*time.Microsecond)
			defer s.Close()
			for i := range 2000 {
				ctx := s.Arm()
				if i%2 == 0 {
					time.Sleep(30 * time.Microsecond)
				}
				s.Disarm()
				if ctx.Err() != nil {
					d, _ := ctx.Deadline()
					if time.Now().Before(d) {
						t.Errorf("context %d expired before its deadline", i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestHistMerge: the per-goroutine latency histograms of the mixed
// workloads add up to the histogram of all their calls.
func TestHistMerge(t *testing.T) {
	var a, b, all Hist
	for i := range 1000 {
		d := time.Duration(i+1) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a.Count() != all.Count() {
		t.Fatalf("merged count %d; want %d", a.Count(), all.Count())
	}
	for _, q := range []float64{0.01, 0.5, 0.99, 1} {
		if got, want := a.Quantile(q), all.Quantile(q); got != want {
			t.Errorf("merged Quantile(%v) = %v; want %v", q, got, want)
		}
	}
}
