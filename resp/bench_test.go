package resp_test

import (
	"context"
	"testing"

	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/vtask"
)

// Benchmarks against a real redis-server; the comparison with other
// clients lives in the bench module.

func BenchmarkGetInto(b *testing.B) {
	_, c := realClient(b, resp.Options{})
	ctx := context.Background()
	must(b, c.Set(ctx, "bench:k", []byte("value"), resp.SetOptions{}))
	b.Run("sequential", func(b *testing.B) {
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.GetInto(ctx, "bench:k", buf).Await(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 0, 64)
			for pb.Next() {
				if _, err := c.GetInto(ctx, "bench:k", buf).Await(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("whenall100", func(b *testing.B) {
		tasks := make([]vtask.Task[resp.Value], 100)
		results := make([]resp.Value, 100)
		bufs := make([][]byte, 100)
		for i := range bufs {
			bufs[i] = make([]byte, 0, 64)
		}
		b.ReportAllocs()
		for b.Loop() {
			for i := range tasks {
				tasks[i] = c.GetInto(ctx, "bench:k", bufs[i])
			}
			if _, err := vtask.WhenAll(tasks, results).Await(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
