package pipeline_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/vtask"
)

// burstPayload is the payload of every call of the burst.
var burstPayload = []byte("burst")

// countingConn counts the Write and Read calls that reach the socket.
type countingConn struct {
	net.Conn
	writes, reads atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(b)
}

// TestIssue13_BurstSharesWrites: one goroutine that submits a burst of
// calls and then waits for all of them (workload (c) of the Redis
// benchmarks) gets them written in a few writes, not one per call
// (the reads depend on how the server writes: this one writes each reply
// alone, Redis all of them at once). Measured on the Redis batch workload
// with counters: 1.0 write and 1.0 read per batch of 100 GETs.
func TestIssue13_BurstSharesWrites(t *testing.T) {
	s := startLineServer(t, nil)
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: nc}
	c := pipeline.NewConn[[]byte](cc, lineCodec{}, pipeline.Options{})
	t.Cleanup(func() { c.Close() })

	const n, rounds = 100, 20
	tasks := make([]vtask.Task[[]byte], n)
	bufs := make([][]byte, n)
	results := make([][]byte, n)
	for i := range bufs {
		bufs[i] = make([]byte, 0, 64)
	}
	ctx := context.Background()
	batch := func() {
		for i := range tasks {
			tasks[i] = call(ctx, c, burstPayload, bufs[i])
		}
		res, err := vtask.WhenAll(tasks, results).Await()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range res {
			if string(v) != string(burstPayload) {
				t.Fatalf("reply %d: %q, want %q", i, v, burstPayload)
			}
		}
	}
	batch() // the connection's buffers grow once
	w0, r0 := cc.writes.Load(), cc.reads.Load()
	for range rounds {
		batch()
	}
	writes := float64(cc.writes.Load()-w0) / rounds
	reads := float64(cc.reads.Load()-r0) / rounds
	t.Logf("per batch of %d calls: %.1f writes, %.1f reads", n, writes, reads)
	// Generous bounds (the scheduler decides when the writer runs), far
	// below the one write per call of a client that does not batch.
	if writes > n/10 {
		t.Errorf("%.1f writes per batch of %d calls, want at most %d: the calls of a burst are not batched", writes, n, n/10)
	}
}
