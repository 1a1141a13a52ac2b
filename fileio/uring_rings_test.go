//go:build linux

package fileio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// ringsOf returns the rings of r's io_uring backend.
func ringsOf(r *Reader) []*uringBackend {
	switch be := r.be.(type) {
	case *uringBackend:
		return []*uringBackend{be}
	case *uringMulti:
		return be.rings
	}
	return nil
}

// ring0 returns the first (with one ring, the only) ring of r.
func ring0(r *Reader) *uringBackend { return ringsOf(r)[0] }

// newRingsReader returns an io_uring Reader with n rings (uringRings).
func newRingsReader(t *testing.T, n int, opts ...Option) *Reader {
	t.Helper()
	saved, savedLarge := uringRings, uringRingsLarge
	uringRings, uringRingsLarge = n, true
	r, err := New(append([]Option{WithBackend(Uring)}, opts...)...)
	uringRings, uringRingsLarge = saved, savedLarge
	if err != nil {
		t.Skip(err)
	}
	return r
}

// ringsFiles writes a small, a 1 MiB and a 5 MiB (two requests) file.
func ringsFiles(t *testing.T) ([]string, [][]byte) {
	dir := t.TempDir()
	var paths []string
	var wants [][]byte
	for i, size := range []int{3000, 1 << 20, 5 << 20} {
		want := bytes.Repeat([]byte{byte('a' + i), 1, 2, 3, 4}, size/5+1)[:size]
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		paths, wants = append(paths, p), append(wants, want)
	}
	return paths, wants
}

// TestUringRings: a Reader with 2 or 3 rings gets that many rings, spreads
// concurrent reads over all of them (op idx % rings), and returns the
// right bytes for small, large and multi-request reads, with inline reads
// and without, some of them canceled before or during the read. After
// Close every ring has let go of every op and slot.
func TestUringRings(t *testing.T) {
	paths, wants := ringsFiles(t)
	for _, n := range []int{2, 3} {
		for _, inline := range []bool{true, false} {
			t.Run(fmt.Sprintf("rings=%d/inline=%v", n, inline), func(t *testing.T) {
				r := newRingsReader(t, n, WithInlineReads(inline), WithMaxInFlight(64))
				if got := len(ringsOf(r)); got != n {
					t.Fatalf("%d rings, want %d", got, n)
				}
				var wg sync.WaitGroup
				for g := range 48 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						i := g % 3
						buf := make([]byte, len(wants[i]))
						for k := range 6 {
							ctx := context.Background()
							var cancel context.CancelFunc
							switch (g + k) % 5 {
							case 0:
								ctx, cancel = context.WithCancel(ctx)
								cancel()
							case 1:
								ctx, cancel = context.WithTimeout(ctx, time.Duration(g%4)*50*time.Microsecond)
							}
							n, err := awaitWithin(r.ReadInto(ctx, paths[i], buf), 20*time.Second)
							if cancel != nil {
								cancel()
							}
							switch {
							case err == nil && (n != len(buf) || !bytes.Equal(buf, wants[i])):
								t.Errorf("read of %d bytes: n=%d, wrong contents", len(buf), n)
								return
							case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
								t.Errorf("read of %d bytes: %v", len(buf), err)
								return
							}
						}
					}()
				}
				wg.Wait()
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				for i, b := range ringsOf(r) {
					if b.starts == 0 && !inline {
						t.Errorf("ring %d of %d started no read", i, n)
					}
					if b.active != 0 || b.inKernel != 0 || b.fds != 0 || b.closing != 0 {
						t.Errorf("ring %d after Close: %d active, %d in kernel, %d descriptors, %d closing", i, b.active, b.inKernel, b.fds, b.closing)
					}
					if len(b.slots) != cap(b.slots) {
						t.Errorf("ring %d: %d of %d direct-descriptor slots free after Close", i, len(b.slots), cap(b.slots))
					}
					if h := b.share.held.Load(); h != 0 {
						t.Errorf("ring %d: %d descriptors counted as held after Close", i, h)
					}
				}
			})
		}
	}
}

// TestUringRingsCloseRace: Close of a Reader with several rings while
// reads are being started, canceled and completed on all of them: every
// read ends (with its bytes, ErrClosed or its context's error), Close
// returns only when every ring's loop has stopped, and reads started
// after it fail with ErrClosed. Run with -race.
func TestUringRingsCloseRace(t *testing.T) {
	paths, wants := ringsFiles(t)
	for round := range 20 {
		r := newRingsReader(t, 2, WithInlineReads(round%2 == 0), WithMaxInFlight(32))
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				i := g % 3
				buf := make([]byte, len(wants[i]))
				for k := 0; ; k++ {
					ctx, cancel := context.WithCancel(context.Background())
					task := r.ReadInto(ctx, paths[i], buf)
					if k%3 == 0 {
						cancel()
					}
					n, err := awaitWithin(task, 20*time.Second)
					cancel()
					switch {
					case errors.Is(err, ErrClosed):
						return
					case err == nil && (n != len(buf) || !bytes.Equal(buf, wants[i])):
						t.Errorf("read of %d bytes: n=%d, wrong contents", len(buf), n)
						return
					case err != nil && !errors.Is(err, context.Canceled):
						t.Errorf("read of %d bytes: %v", len(buf), err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(1+round%5) * time.Millisecond)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		for i, b := range ringsOf(r) {
			select {
			case <-b.done:
			default:
				t.Fatalf("Close returned with ring %d's loop still running", i)
			}
		}
		wg.Wait()
		if _, err := r.ReadInto(context.Background(), paths[0], make([]byte, 10)).Await(); !errors.Is(err, ErrClosed) {
			t.Fatalf("read after Close: %v", err)
		}
	}
}

// TestUringRingsChoice: without WithRings a Reader has one ring per P, at
// most uringRingsMax, unless uringRings says otherwise (the child run of
// TestUringRingsTable sets it to 1); WithRings(n) gives n rings; a bad
// count fails New; a ring the kernel refuses is done without when the
// count is automatic and makes io_uring unavailable when it was asked for.
func TestUringRingsChoice(t *testing.T) {
	r, err := New(WithBackend(Uring))
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	want := uringRings
	if want <= 0 {
		want = min(runtime.GOMAXPROCS(0), uringRingsMax)
	}
	if got := len(ringsOf(r)); got != want {
		t.Fatalf("%d rings, want %d (uringRings %d)", got, want, uringRings)
	}
	if r.ringsLarge != (want > 1 && uringRingsLarge) {
		t.Fatalf("ringsLarge %v with %d rings", r.ringsLarge, want)
	}
	for _, n := range []int{1, 3} {
		r, err := New(WithBackend(Uring), WithRings(n))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(ringsOf(r)); got != n {
			t.Errorf("WithRings(%d): %d rings", n, got)
		}
		if r.ringsLarge != (n > 1 && uringRingsLarge) {
			t.Errorf("WithRings(%d): ringsLarge %v", n, r.ringsLarge)
		}
		r.Close()
	}
	if _, err := New(WithBackend(Uring), WithRings(-1)); err == nil {
		t.Error("WithRings(-1) accepted")
	}

	uringFailRing = 2
	defer func() { uringFailRing = -1 }()
	saved := uringRings
	uringRings = 3
	r3, err := New(WithBackend(Uring))
	uringRings = saved
	if err != nil {
		t.Fatalf("automatic count, third ring refused: %v", err)
	}
	if got := len(ringsOf(r3)); got != 2 {
		t.Errorf("automatic count, third ring refused: %d rings, want 2", got)
	}
	if _, err := r3.ReadInto(context.Background(), "/proc/self/stat", make([]byte, 4096)).Await(); err != nil {
		t.Errorf("read on the rings left: %v", err)
	}
	r3.Close()
	if _, err := New(WithBackend(Uring), WithRings(3)); err == nil {
		t.Error("WithRings(3), third ring refused: New succeeded")
	}
	ra, err := New(WithRings(3))
	if err != nil {
		t.Fatal(err)
	}
	if ra.Backend() != Workers || ra.FallbackReason() == "" {
		t.Errorf("WithRings(3), third ring refused, automatic backend: %v, reason %q", ra.Backend(), ra.FallbackReason())
	}
	ra.Close()
}
