//go:build !race && unix

package fileio_test

import (
	"context"
	"testing"

	"github.com/zerogc/zerogc/fileio"
)

// TestAllocs checks that a ReadInto allocates nothing in steady state on
// each backend, with and without a cancelable context, that a ReadFile
// allocates only the returned data, and that a cached ReadInto allocates
// nothing either.
func TestAllocs(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", pattern(4096, 9))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		buf := make([]byte, 4096)
		bg := context.Background()
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		for _, c := range []struct {
			name string
			want float64
			fn   func()
		}{
			{"ReadInto", 0, func() {
				if n, err := r.ReadInto(bg, p, buf).Await(); err != nil || n != len(buf) {
					t.Fatal(n, err)
				}
			}},
			{"ReadInto/cancelable-ctx", 0, func() {
				if n, err := r.ReadInto(ctx, p, buf).Await(); err != nil || n != len(buf) {
					t.Fatal(n, err)
				}
			}},
			{"ReadFile", 1, func() {
				if data, err := r.ReadFile(bg, p).Await(); err != nil || len(data) != 4096 {
					t.Fatal(len(data), err)
				}
			}},
		} {
			c.fn() // warm the pool and the watcher
			if got := testing.AllocsPerRun(200, c.fn); got != c.want {
				t.Errorf("%s: %v allocs per read, want %v", c.name, got, c.want)
			}
		}
	})
	cached, err := fileio.New(fileio.WithBackend(fileio.Workers), fileio.WithCache(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cached.Close()
	if _, err := cached.ReadFile(context.Background(), p).Await(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	got := testing.AllocsPerRun(200, func() {
		if n, err := cached.ReadInto(context.Background(), p, buf).Await(); err != nil || n != 4096 {
			t.Fatal(n, err)
		}
	})
	if got != 0 {
		t.Errorf("cached ReadInto: %v allocs, want 0", got)
	}
}
