//go:build linux

package fileio

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
	"golang.org/x/sys/unix"
)

// blockingOpens makes the workers backend open without O_NONBLOCK for
// the test, so that the open of a FIFO without a writer blocks inside
// openat, as an open on a hung network mount does whatever the flags.
func blockingOpens(t *testing.T) {
	old := openFlags
	openFlags = unix.O_RDONLY | unix.O_CLOEXEC
	t.Cleanup(func() { openFlags = old })
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

// fifoNoWriter makes a FIFO that nobody has open.
func fifoNoWriter(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	return p
}

// wakeOpeners opens p for reading and writing and closes it: every open
// blocked on p returns.
func wakeOpeners(t *testing.T, p string) {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	f.Close()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIssue11_6_BlockedOpenSyscall covers the opens that O_NONBLOCK cannot
// save (a hung network mount): a read blocked inside openat is ended by a
// cancel or Close within 100 ms, blocked opens give their worker slots
// away so other reads go on, and each abandoned open closes its
// descriptor and gives back its in-flight token when openat returns.
func TestIssue11_6_BlockedOpenSyscall(t *testing.T) {
	blockingOpens(t)
	const prompt = 100 * time.Millisecond
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("regular"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := fifoNoWriter(t)
	before := openFDs(t)
	r, err := New(WithBackend(Workers), WithWorkers(2), WithMaxInFlight(32))
	if err != nil {
		t.Fatal(err)
	}
	w := r.be.(*workersBackend)
	defer func() {
		if !r.closed.Load() {
			wakeOpeners(t, p)
			r.Close()
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	task := r.ReadInto(ctx, p, make([]byte, 8))
	time.Sleep(30 * time.Millisecond)
	if task.IsCompleted() {
		t.Fatal("the open of a FIFO without a writer did not block: the test does not test anything")
	}
	cancel()
	start := time.Now()
	waitFor(t, "canceled read", task.IsCompleted)
	if took := time.Since(start); took > prompt {
		t.Fatalf("canceled read blocked in openat ended after %v, want %v", took, prompt)
	}
	if _, err := task.Result(); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled read: %v, want context.Canceled", err)
	}
	if w.abandoned.Load() != 1 {
		t.Fatalf("%d abandoned opens, want 1", w.abandoned.Load())
	}

	// Eight blocked opens against two workers: the monitor hands their
	// slots on, and a regular read completes.
	var blocked []vtask.Task[int]
	for range 8 {
		blocked = append(blocked, r.ReadInto(context.Background(), p, make([]byte, 8)))
	}
	start = time.Now()
	n, err := awaitWithin(r.ReadInto(context.Background(), regular, make([]byte, 16)), 2*time.Second)
	if err != nil || n != 7 {
		t.Fatalf("regular read with 8 opens blocked on 2 workers: %d, %v after %v", n, err, time.Since(start))
	}
	if w.replaced.Load() < 2 {
		t.Fatalf("%d workers started to take over slots, want at least 2", w.replaced.Load())
	}

	start = time.Now()
	r.Close()
	if took := time.Since(start); took > prompt {
		t.Fatalf("Close with 8 opens blocked took %v, want at most %v", took, prompt)
	}
	for i, task := range blocked {
		if _, err := task.Result(); !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked read %d after Close: %v, want ErrClosed", i, err)
		}
	}
	// The canceled one, and those of the eight that were inside openat
	// (all of them, unless one was between its dequeue and its open).
	if n := w.abandoned.Load(); n < 2 || n > 9 {
		t.Fatalf("%d abandoned opens, want 2 to 9", n)
	}

	// A writer comes: the abandoned opens return, close what they opened
	// and give their tokens back.
	wakeOpeners(t, p)
	waitFor(t, "abandoned opens returning", func() bool { return w.abandoned.Load() == 0 })
	waitFor(t, "in-flight tokens given back", func() bool { return len(r.inFlight) == 0 })
	waitFor(t, "descriptors closed", func() bool { return openFDs(t) == before })
}

func awaitWithin(task vtask.Task[int], d time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return task.AwaitContext(ctx)
}

// TestIssue11_6_StressAbandon races reads blocked in openat against
// cancels, writers that come and go, the monitor and Close. Run it with
// -race: every read must end (data, Canceled or ErrClosed), and every
// abandoned open must return its descriptor and token at the end.
func TestIssue11_6_StressAbandon(t *testing.T) {
	blockingOpens(t)
	p := fifoNoWriter(t)
	regular := filepath.Join(t.TempDir(), "regular")
	if err := os.WriteFile(regular, []byte("regular"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := openFDs(t)
	for round := range 3 {
		r, err := New(WithBackend(Workers), WithWorkers(2), WithMaxInFlight(16))
		if err != nil {
			t.Fatal(err)
		}
		w := r.be.(*workersBackend)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		// A writer that comes and goes, so some opens return.
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(rand.IntN(15)) * time.Millisecond):
				}
				if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Write([]byte("x"))
					f.Close()
				}
			}
		})
		for g := range 6 {
			wg.Go(func() {
				buf := make([]byte, 8)
				for i := 0; ; i++ {
					path := p
					if (i+g)%2 == 0 {
						path = regular
					}
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(20))*time.Millisecond)
					n, err := r.ReadInto(ctx, path, buf).Await()
					cancel()
					switch {
					case errors.Is(err, ErrClosed):
						return
					case err == nil && path == regular && string(buf[:n]) != "regular":
						t.Errorf("regular read: %q", buf[:n])
					case err != nil && !errors.Is(err, context.DeadlineExceeded):
						t.Errorf("read of %s: %v", filepath.Base(path), err)
					}
				}
			})
		}
		time.Sleep(time.Duration(100+50*round) * time.Millisecond)
		start := time.Now()
		r.Close()
		if took := time.Since(start); took > time.Second {
			t.Errorf("round %d: Close took %v", round, took)
		}
		close(stop)
		wg.Wait()
		wakeOpeners(t, p)
		waitFor(t, "abandoned opens returning", func() bool { return w.abandoned.Load() == 0 })
		waitFor(t, "in-flight tokens given back", func() bool { return len(r.inFlight) == 0 })
	}
	waitFor(t, "descriptors closed", func() bool { return openFDs(t) == before })
}
