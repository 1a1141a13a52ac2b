//go:build linux

package fileio

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/zerogc/zerogc/fileio/internal/uring"
	"github.com/zerogc/zerogc/vtask"
	"golang.org/x/sys/unix"
)

// directKernel reports whether this kernel offers what the chain needs,
// asked of a ring of its own (not through the backend under test).
func directKernel(t *testing.T) bool {
	t.Helper()
	ring, err := uring.New(8)
	if err != nil {
		t.Skip(err)
	}
	defer ring.Close()
	ok, _ := setupDirect(ring, 2)
	return ok
}

// TestUringDirectChoice: the backend uses direct descriptors exactly when
// the kernel has them, and uringNoDirect (the switch the fallback table
// run uses) turns them off.
func TestUringDirectChoice(t *testing.T) {
	want := directKernel(t) && !uringNoDirect
	r, err := New(WithBackend(Uring), WithInlineReads(false))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := ring0(r).direct; got != want {
		t.Fatalf("direct descriptors used: %v, want %v", got, want)
	}
	if r.Backend() != Uring {
		t.Fatalf("backend %v", r.Backend())
	}
	saved := uringNoDirect
	uringNoDirect = true
	r2, err := New(WithBackend(Uring), WithInlineReads(false))
	uringNoDirect = saved
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if ring0(r2).direct {
		t.Fatal("uringNoDirect set, yet the backend uses direct descriptors")
	}
}

// tracedSteps runs one ReadInto and returns the Detail of every submit.
func tracedSteps(t *testing.T, r *Reader, path string, buf []byte) ([]string, int, error) {
	t.Helper()
	var mu sync.Mutex
	var subs []string
	SetTrace(func(e Event) {
		if e.Kind == EvSubmit && e.Path == path {
			mu.Lock()
			subs = append(subs, e.Detail)
			mu.Unlock()
		}
	})
	n, err := r.ReadInto(context.Background(), path, buf).Await()
	SetTrace(nil)
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), subs...), n, err
}

// TestUringDirectOneSubmission: on a kernel with direct descriptors a
// ReadInto whose buffer the file fills is one chain (plus the close after
// the result), a larger buffer costs one more read (the end of file), and
// a smaller one is told apart by fstat (ErrTruncated).
func TestUringDirectOneSubmission(t *testing.T) {
	if !directKernel(t) || uringNoDirect {
		t.Skip("kernel lacks direct descriptors (or the fallback run)")
	}
	r, err := New(WithBackend(Uring), WithInlineReads(false))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := bytes.Repeat([]byte("0123456789abcdef"), 256)
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	chain := stageNames[stChain]
	for _, c := range []struct {
		size  int
		steps []string
		n     int
		trunc bool
	}{
		{4096, []string{chain, "close of the direct descriptor (in the background)"}, 4096, false},
		{5000, []string{chain, "read", "close of the direct descriptor (in the background)"}, 4096, false},
		{100, []string{chain, stageNames[stInstall], "close of the direct descriptor (in the background)"}, 100, true},
	} {
		buf := make([]byte, c.size)
		steps, n, err := tracedSteps(t, r, p, buf)
		if c.trunc != errors.Is(err, ErrTruncated) || (!c.trunc && (err != nil || n != c.n)) {
			t.Fatalf("buffer %d: n=%d, %v", c.size, n, err)
		}
		if !bytes.Equal(buf[:min(c.size, len(want))], want[:min(c.size, len(want))]) {
			t.Fatalf("buffer %d: wrong contents", c.size)
		}
		// The close is submitted after the result is delivered, so the
		// trace may end before it.
		if len(steps) < len(c.steps)-1 || !equalPrefix(steps, c.steps) {
			t.Fatalf("buffer %d: submits %q, want %q", c.size, steps, c.steps)
		}
	}
}

func equalPrefix(got, want []string) bool {
	for i := range got {
		if i >= len(want) || got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestUringDirectFIFO: a FIFO read through the chain keeps stream
// semantics: a buffer it fills exactly, or more than fills, ends the read
// without error and without waiting for the writer to close (the probe
// never waits); a short write is waited on until the buffer is full or
// the writer closes.
func TestUringDirectFIFO(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		saved := uringNoDirect
		uringNoDirect = noDirect || saved
		r, err := New(WithBackend(Uring), WithInlineReads(false))
		uringNoDirect = saved
		if err != nil {
			t.Skip(err)
		}
		p := filepath.Join(t.TempDir(), "fifo")
		if err := mkfifo(p); err != nil {
			r.Close()
			t.Skip("no FIFOs:", err)
		}
		w, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, data := range []string{"abcd", "abcdefgh"} {
			if _, err := w.WriteString(data); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			n, err := awaitWithin(r.ReadInto(context.Background(), p, buf), 5*time.Second)
			if err != nil || n != 4 || string(buf) != "abcd" {
				t.Fatalf("direct=%v, FIFO holding %q, 4-byte buffer: n=%d %q, %v", ring0(r).direct, data, n, buf, err)
			}
			drain(t, p)
		}
		task := r.ReadInto(context.Background(), p, make([]byte, 8))
		if _, err := w.WriteString("xy"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		if task.IsCompleted() {
			t.Fatalf("direct=%v: a FIFO read ended after 2 of 8 bytes with the writer open", ring0(r).direct)
		}
		w.Close()
		if n, err := awaitWithin(task, 5*time.Second); err != nil || n != 2 {
			t.Fatalf("direct=%v: after the writer closed: n=%d, %v", ring0(r).direct, n, err)
		}
		r.Close()
	}
}

func mkfifo(p string) error { return unix.Mkfifo(p, 0o600) }

// drain reads whatever p's pipe still holds, without waiting.
func drain(t *testing.T, p string) {
	t.Helper()
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var b [64]byte
	for {
		if n, err := unix.Read(fd, b[:]); n <= 0 || err != nil {
			return
		}
	}
}

// TestUringDirectStressCancel races cancels against chains at every
// stage: ReadIntos of a FIFO that never gets data (the chain's read waits
// in the kernel, so only a cancel that reaches it ends the read) mixed
// with reads of a regular file, each canceled after a random short delay.
// Every FIFO read must end with the context's error within 5 s (a cancel
// that missed a chain request not yet started would leave it waiting),
// and every file read with the contents or the context's error.
func TestUringDirectStressCancel(t *testing.T) {
	if !directKernel(t) || uringNoDirect {
		t.Skip("kernel lacks direct descriptors (or the fallback run)")
	}
	r, err := New(WithBackend(Uring), WithInlineReads(false), WithMaxInFlight(64))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifoPath := filepath.Join(dir, "fifo")
	if err := mkfifo(fifoPath); err != nil {
		t.Skip("no FIFOs:", err)
	}
	w, err := os.OpenFile(fifoPath, os.O_RDWR, 0) // never written
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := bytes.Repeat([]byte{7}, 4096)
	filePath := filepath.Join(dir, "f")
	if err := os.WriteFile(filePath, want, 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for i := range 100 {
				fifo := (i+g)%2 == 0
				p := filePath
				if fifo {
					p = fifoPath
				}
				ctx, cancel := context.WithCancel(context.Background())
				task := r.ReadInto(ctx, p, buf)
				if d := (i * 37 % 7); d > 0 {
					time.Sleep(time.Duration(d) * 50 * time.Microsecond)
				}
				cancel()
				n, err := awaitWithin(task, 5*time.Second)
				switch {
				case fifo && !errors.Is(err, context.Canceled):
					t.Errorf("FIFO read: n=%d, %v; want context.Canceled", n, err)
					return
				case !fifo && err == nil && (n != len(want) || !bytes.Equal(buf, want)):
					t.Errorf("file read: %d bytes, wrong contents", n)
					return
				case !fifo && err != nil && !errors.Is(err, context.Canceled):
					t.Errorf("file read: %v", err)
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
		if len(b.slots) != cap(b.slots) {
			t.Fatalf("ring %d: %d of %d direct-descriptor slots free after Close", i, len(b.slots), cap(b.slots))
		}
	}
}

// TestUringAsyncLargeReads: with the (default off) io-wq hand-off on,
// large reads issued while others are in flight go to io-wq (IOSQE_ASYNC)
// on the plain path and still deliver the right bytes (1 MiB: one
// request; 5 MiB: two).
func TestUringAsyncLargeReads(t *testing.T) {
	saved := uringAsyncMin
	uringAsyncMin = 256 << 10
	r, err := New(WithBackend(Uring), WithInlineReads(false), WithMaxInFlight(16))
	uringAsyncMin = saved
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	var paths []string
	var wants [][]byte
	for i, size := range []int{1 << 20, 5 << 20} {
		want := bytes.Repeat([]byte{byte(i + 1), 2, 3}, size/3+1)[:size]
		p := filepath.Join(dir, "big"+string(rune('a'+i)))
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		paths, wants = append(paths, p), append(wants, want)
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			i := g % 2
			buf := make([]byte, len(wants[i]))
			for range 4 {
				n, err := awaitWithin(r.ReadInto(context.Background(), paths[i], buf), 20*time.Second)
				if err != nil || n != len(buf) || !bytes.Equal(buf, wants[i]) {
					t.Errorf("read of %d bytes: n=%d, %v", len(buf), n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	r.Close()
	n := 0
	for _, b := range ringsOf(r) {
		n += b.asyncReads
	}
	if n == 0 {
		t.Fatal("16 concurrent large reads, none handed to io-wq")
	}
}

// TestUringDirectStressClose closes Readers while chains on a FIFO that
// never gets data are at every stage: Close must end every read (with
// ErrClosed) and return, so its cancels must reach chain requests that
// had not started when the first cancel went out.
func TestUringDirectStressClose(t *testing.T) {
	if !directKernel(t) || uringNoDirect {
		t.Skip("kernel lacks direct descriptors (or the fallback run)")
	}
	p := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(p); err != nil {
		t.Skip("no FIFOs:", err)
	}
	w, err := os.OpenFile(p, os.O_RDWR, 0) // never written
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for round := range 30 {
		r, err := New(WithBackend(Uring), WithInlineReads(false), WithMaxInFlight(64))
		if err != nil {
			t.Fatal(err)
		}
		tasks := make([]vtask.Task[int], 40)
		for i := range tasks {
			tasks[i] = r.ReadInto(context.Background(), p, make([]byte, 16))
		}
		time.Sleep(time.Duration(round%6) * 200 * time.Microsecond)
		closed := make(chan struct{})
		go func() { r.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close did not return with chains in flight", round)
		}
		for i, task := range tasks {
			if _, err := awaitWithin(task, 5*time.Second); !errors.Is(err, ErrClosed) {
				t.Fatalf("round %d, read %d: %v, want ErrClosed", round, i, err)
			}
		}
	}
}
