//go:build unix

package fileio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/vtask"
)

// backends returns the backends to test: workers always, io_uring where
// the kernel offers it (the test says so when it does not).
func backends(t *testing.T) []fileio.Backend {
	t.Helper()
	r, err := fileio.New(fileio.WithBackend(fileio.Uring))
	if err != nil {
		t.Logf("io_uring backend not tested: %v", err)
		return []fileio.Backend{fileio.Workers}
	}
	r.Close()
	return []fileio.Backend{fileio.Uring, fileio.Workers}
}

func newReader(t *testing.T, b fileio.Backend, opts ...fileio.Option) *fileio.Reader {
	t.Helper()
	r, err := fileio.New(append([]fileio.Option{fileio.WithBackend(b)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if r.Backend() != b {
		t.Fatalf("asked for %v, got %v", b, r.Backend())
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// forEach runs fn as a subtest on every backend.
func forEach(t *testing.T, fn func(t *testing.T, b fileio.Backend)) {
	for _, b := range backends(t) {
		t.Run(b.String(), func(t *testing.T) { fn(t, b) })
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// await waits for t with a deadline so that a broken read fails the test
// instead of hanging it.
func await[T any](t *testing.T, task vtask.Task[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := task.AwaitContext(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		t.Fatal("read did not complete within 20s")
	}
	return v, err
}

// traceCount counts the traced steps of kind k with detail d while fn runs.
func traceCount(k fileio.EventKind, d string, fn func()) int {
	var n atomic.Int32
	fileio.SetTrace(func(e fileio.Event) {
		if e.Kind == k && e.Detail == d {
			n.Add(1)
		}
	})
	defer fileio.SetTrace(nil)
	fn()
	return int(n.Load())
}

func TestContents(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		size int
	}{
		{"small", 100},
		{"empty", 0},
		{"4KiB", 4096},
		{"large", 9<<20 + 123}, // three requests of at most 4 MiB
	}
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		for i, c := range cases {
			want := pattern(c.size, byte(i))
			p := writeFile(t, dir, c.name, want)
			t.Run(c.name, func(t *testing.T) {
				var got []byte
				var err error
				reads := traceCount(fileio.EvSubmit, "read", func() {
					got, err = await(t, r.ReadFile(context.Background(), p))
				})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("ReadFile: %d bytes, want %d (contents differ)", len(got), len(want))
				}
				if c.name == "large" && reads < 3 {
					t.Fatalf("large file read in %d requests, want at least 3", reads)
				}

				buf := make([]byte, c.size+10)
				n, err := await(t, r.ReadInto(context.Background(), p, buf))
				if err != nil || n != c.size || !bytes.Equal(buf[:n], want) {
					t.Fatalf("ReadInto(big buffer) = %d, %v; want %d bytes", n, err, c.size)
				}
				if c.size > 0 {
					// A buffer smaller than the file: ErrTruncated, the
					// buffer full of the file's first bytes.
					short := make([]byte, c.size/2+1)
					_, err = await(t, r.ReadInto(context.Background(), p, short))
					if !errors.Is(err, fileio.ErrTruncated) || !bytes.Equal(short, want[:len(short)]) {
						t.Fatalf("ReadInto(short buffer) = %v; want ErrTruncated and %d bytes", err, len(short))
					}
				}
			})
		}
	})
}

func TestProcFile(t *testing.T) {
	// /proc files report size 0: the read must go on until end of file.
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		got, err := await(t, r.ReadFile(context.Background(), "/proc/self/maps"))
		if err != nil {
			t.Skip("no /proc here:", err)
		}
		if len(got) < 512 || !bytes.HasSuffix(got, []byte("\n")) {
			t.Fatalf("/proc/self/maps: %d bytes, want a complete file larger than the 512-byte first read", len(got))
		}
	})
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		ctx := context.Background()

		_, err := await(t, r.ReadFile(ctx, filepath.Join(dir, "missing")))
		var pe *fs.PathError
		if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Op != "open" {
			t.Fatalf("missing file: %v, want *fs.PathError open ... ErrNotExist", err)
		}
		_, err = await(t, r.ReadInto(ctx, filepath.Join(dir, "missing"), make([]byte, 8)))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("ReadInto missing file: %v", err)
		}

		_, err = await(t, r.ReadFile(ctx, dir))
		if !errors.Is(err, syscall.EISDIR) || !errors.As(err, &pe) {
			t.Fatalf("directory: %v, want *fs.PathError with EISDIR", err)
		}

		hits, misses := r.PoolStats()
		for _, p := range []string{"", "a\x00b", strings.Repeat("x", 5000)} {
			task := r.ReadFile(ctx, p)
			if !task.IsImmediate() {
				t.Fatalf("path %.10q: error should be synchronous", p)
			}
			if _, err := task.Await(); !errors.As(err, &pe) {
				t.Fatalf("path %.10q: %v, want *fs.PathError", p, err)
			}
		}
		if _, err := r.ReadFile(ctx, "").Await(); !errors.Is(err, fileio.ErrEmptyPath) {
			t.Fatalf("empty path: %v", err)
		}
		if h, m := r.PoolStats(); h != hits || m != misses {
			t.Fatal("a synchronous error touched the pool")
		}
	})
}

func TestPermissionDenied(t *testing.T) {
	if os.Getenv("FILEIO_PERM_CHILD") != "" {
		permChild(t)
		return
	}
	// A directory that uid 65534 can enter (t.TempDir's parent is private).
	dir, err := os.MkdirTemp("", "fileio-perm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := writeFile(t, dir, "secret", []byte("secret"))
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		forEach(t, func(t *testing.T, b fileio.Backend) { checkDenied(t, b, p) })
		return
	}
	// Root reads any file: run the check in a child process as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	bin := filepath.Join(dir, "child.test")
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestPermissionDenied$", "-test.v")
	cmd.Env = append(os.Environ(), "FILEIO_PERM_CHILD="+p)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "--- FAIL") {
			t.Fatalf("child as uid 65534 failed:\n%s", out)
		}
		t.Skipf("cannot run a child as uid 65534 (%v):\n%s", err, out)
	}
	for _, b := range backends(t) {
		if !strings.Contains(string(out), "denied on "+b.String()) {
			t.Fatalf("child did not check %v:\n%s", b, out)
		}
	}
}

func permChild(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		checkDenied(t, b, os.Getenv("FILEIO_PERM_CHILD"))
		t.Logf("denied on %v", b)
	})
}

func checkDenied(t *testing.T, b fileio.Backend, p string) {
	r := newReader(t, b)
	_, err := await(t, r.ReadFile(context.Background(), p))
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("%v: %v, want fs.ErrPermission", b, err)
	}
}

// fifo makes a named pipe with a writer held open, so that opening it for
// reading does not block and reading it blocks until data or cancellation.
func fifo(t *testing.T) (string, *os.File) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	w, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return p, w
}

func TestCancelBeforeRead(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", []byte("data"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		task := r.ReadInto(ctx, p, make([]byte, 4))
		if !task.IsImmediate() {
			t.Fatal("a read with a canceled context should fail synchronously")
		}
		if st, _ := task.Status(); st != vtask.Canceled {
			t.Fatalf("status %v, want Canceled", st)
		}
		if _, err := task.Await(); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
		if h, m := r.PoolStats(); h+m != 0 {
			t.Fatal("a canceled read touched the pool")
		}
	})
}

func TestCancelDuringRead(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		p, _ := fifo(t)
		for _, file := range []bool{true, false} {
			ctx, cancel := context.WithCancel(context.Background())
			var task vtask.Task[int]
			var ftask vtask.Task[[]byte]
			if file {
				ftask = r.ReadFile(ctx, p)
			} else {
				task = r.ReadInto(ctx, p, make([]byte, 16))
			}
			time.Sleep(20 * time.Millisecond)
			if (file && ftask.IsCompleted()) || (!file && task.IsCompleted()) {
				t.Fatal("read of an empty FIFO completed before the cancel")
			}
			cancel()
			var err error
			if file {
				_, err = await(t, ftask)
			} else {
				_, err = await(t, task)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("file=%v: err %v, want context.Canceled", file, err)
			}
		}
		// The slots and the ring still work after the cancels.
		q := writeFile(t, t.TempDir(), "f", []byte("after"))
		if got, err := await(t, r.ReadFile(context.Background(), q)); err != nil || string(got) != "after" {
			t.Fatalf("read after cancels: %q, %v", got, err)
		}
	})
}

func TestCanceledStatus(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		p, _ := fifo(t)
		ctx, cancel := context.WithCancel(context.Background())
		task := r.ReadInto(ctx, p, make([]byte, 16))
		cancel()
		deadline := time.Now().Add(20 * time.Second)
		for !task.IsCompleted() {
			if time.Now().After(deadline) {
				t.Fatal("canceled read did not complete")
			}
			time.Sleep(time.Millisecond)
		}
		st, err := task.Status()
		if st != vtask.Canceled || err != nil {
			t.Fatalf("status %v, %v; want Canceled", st, err)
		}
		if _, err := task.Result(); !errors.Is(err, context.Canceled) {
			t.Fatalf("result err %v", err)
		}
	})
}

func TestCloseWithReadsInFlight(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r, err := fileio.New(fileio.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := fifo(t)
		var tasks []vtask.Task[int]
		for range 5 {
			tasks = append(tasks, r.ReadInto(context.Background(), p, make([]byte, 8)))
		}
		ftask := r.ReadFile(context.Background(), p)
		time.Sleep(20 * time.Millisecond)
		done := make(chan struct{})
		go func() { r.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Close did not return")
		}
		for i, task := range tasks {
			if _, err := await(t, task); !errors.Is(err, fileio.ErrClosed) {
				t.Fatalf("read %d: %v, want ErrClosed", i, err)
			}
		}
		if _, err := await(t, ftask); !errors.Is(err, fileio.ErrClosed) {
			t.Fatalf("ReadFile: %v, want ErrClosed", err)
		}
		if _, err := r.ReadFile(context.Background(), p).Await(); !errors.Is(err, fileio.ErrClosed) {
			t.Fatalf("read after Close: %v, want ErrClosed", err)
		}
		if err := r.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	})
}

func TestBackPressure(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b, fileio.WithMaxInFlight(2))
		p, w := fifo(t)
		t1 := r.ReadInto(context.Background(), p, make([]byte, 1))
		t2 := r.ReadInto(context.Background(), p, make([]byte, 1))
		// Both slots are busy: a third read waits, here until its deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		t3 := r.ReadInto(ctx, p, make([]byte, 1))
		if _, err := t3.Await(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("third read: %v, want DeadlineExceeded while the bound is reached", err)
		}
		if _, err := w.Write([]byte("ab")); err != nil {
			t.Fatal(err)
		}
		for _, task := range []vtask.Task[int]{t1, t2} {
			if n, err := await(t, task); n != 1 || err != nil {
				t.Fatalf("read = %d, %v", n, err)
			}
		}
		if _, m := r.PoolStats(); m != 2 {
			t.Fatalf("%d ops created, want 2 (the bound)", m)
		}
	})
}

// TestAbandonedWait gives up waiting (AwaitContext) on a read that is
// still in flight; when the read completes later its op must return to
// the pool by itself.
func TestAbandonedWait(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		// Inline reads off: the second read must go through the pool.
		r := newReader(t, b, fileio.WithMaxInFlight(1), fileio.WithInlineReads(false))
		p, w := fifo(t)
		task := r.ReadInto(context.Background(), p, make([]byte, 1))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if _, err := task.AwaitContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("AwaitContext: %v, want DeadlineExceeded", err)
		}
		if _, err := w.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		// The abandoned op goes back to the pool by itself once its read
		// completes. (The in-flight slot is freed a moment before that,
		// so a read started at once could still miss the pool.)
		for deadline := time.Now().Add(5 * time.Second); r.FreeOps() != 1; {
			if time.Now().After(deadline) {
				t.Fatal("the abandoned op did not return to the pool within 5s")
			}
			time.Sleep(time.Millisecond)
		}
		q := writeFile(t, t.TempDir(), "f", []byte("hello"))
		buf := make([]byte, 5)
		if n, err := await(t, r.ReadInto(context.Background(), q, buf)); n != 5 || err != nil {
			t.Fatalf("next read: %d, %v", n, err)
		}
		if h, m := r.PoolStats(); h != 1 || m != 1 {
			t.Fatalf("pool hits %d misses %d, want 1 and 1", h, m)
		}
	})
}

func TestAwaitTwice(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", []byte("once"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		task := r.ReadFile(context.Background(), p)
		if got, err := await(t, task); err != nil || string(got) != "once" {
			t.Fatalf("first await: %q, %v", got, err)
		}
		if _, err := task.Await(); !errors.Is(err, vtask.ErrStale) {
			t.Fatalf("second await: %v, want vtask.ErrStale", err)
		}
	})
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	small := writeFile(t, dir, "small", []byte("cached contents"))
	big := writeFile(t, dir, "big", pattern(2000, 1))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b, fileio.WithCache(1000))
		ctx := context.Background()
		first := r.ReadFile(ctx, small)
		if first.IsImmediate() {
			t.Fatal("first read of a file cannot come from the cache")
		}
		if _, err := await(t, first); err != nil {
			t.Fatal(err)
		}
		second := r.ReadFile(ctx, small)
		if !second.IsImmediate() {
			t.Fatal("second read should be answered from the cache")
		}
		got, err := second.Await()
		if err != nil || string(got) != "cached contents" {
			t.Fatalf("cached ReadFile: %q, %v", got, err)
		}
		got[0] = 'X' // the caller owns its copy
		buf := make([]byte, 6)
		into := r.ReadInto(ctx, small, buf)
		if _, err := into.Await(); !into.IsImmediate() || string(buf) != "cached" || !errors.Is(err, fileio.ErrTruncated) {
			t.Fatalf("cached ReadInto, short buffer: immediate=%v %q %v; want ErrTruncated", into.IsImmediate(), buf, err)
		}
		buf = make([]byte, 64)
		into = r.ReadInto(ctx, small, buf)
		if n, err := into.Await(); !into.IsImmediate() || string(buf[:n]) != "cached contents" || err != nil {
			t.Fatalf("cached ReadInto: immediate=%v %q %v", into.IsImmediate(), buf[:n], err)
		}
		if _, err := await(t, r.ReadFile(ctx, big)); err != nil {
			t.Fatal(err)
		}
		if r.ReadFile(ctx, big).IsImmediate() {
			t.Fatal("a file larger than the cache was cached")
		}
		r.Forget(small)
		if r.ReadFile(ctx, small).IsImmediate() {
			t.Fatal("Forget did not drop the entry")
		}
	})
}

// TestManyConcurrent runs 10,000 reads of 100 files from 64 goroutines,
// each keeping 8 reads in flight, and checks every byte.
func TestManyConcurrent(t *testing.T) {
	dir := t.TempDir()
	const files = 100
	want := make([][]byte, files)
	paths := make([]string, files)
	for i := range files {
		want[i] = pattern(100+i*37, byte(i))
		paths[i] = writeFile(t, dir, fmt.Sprintf("f%03d", i), want[i])
	}
	forEach(t, func(t *testing.T, b fileio.Backend) {
		// 512 reads outstanding at once against a bound of 128: the
		// bound holds I/O back, results wait in their ops.
		const goroutines, perG, depth = 64, 10000 / 64, 8
		r := newReader(t, b, fileio.WithMaxInFlight(128))
		var wg sync.WaitGroup
		var reads atomic.Int64
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bufs := make([][]byte, depth)
				for i := range bufs {
					bufs[i] = make([]byte, 4096)
				}
				tasks := make([]vtask.Task[int], depth)
				idx := make([]int, depth)
				for i := 0; i < perG+1; i += depth {
					for k := range depth {
						idx[k] = (g*perG + i + k) % files
						tasks[k] = r.ReadInto(context.Background(), paths[idx[k]], bufs[k])
					}
					for k := range depth {
						n, err := tasks[k].Await()
						if err != nil {
							errs <- err
							return
						}
						if !bytes.Equal(bufs[k][:n], want[idx[k]]) {
							errs <- fmt.Errorf("file %d: wrong contents (%d bytes)", idx[k], n)
							return
						}
						reads.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if reads.Load() < 10000 {
			t.Fatalf("%d reads, want at least 10000", reads.Load())
		}
		if _, m := r.PoolStats(); m > goroutines*depth {
			t.Fatalf("%d ops created, more than the in-flight bound", m)
		}
	})
}

// TestStressCancelClose races reads, cancellations and Close.
func TestStressCancelClose(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", pattern(64<<10, 3))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		for round := range 4 {
			r, err := fileio.New(fileio.WithBackend(b), fileio.WithMaxInFlight(16))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 64<<10)
					for i := range 50 {
						ctx, cancel := context.WithCancel(context.Background())
						task := r.ReadInto(ctx, p, buf)
						if (i+g)%3 == 0 {
							cancel()
						}
						n, err := await(t, task)
						cancel()
						switch {
						case err == nil && n != len(buf):
							t.Errorf("short read %d", n)
						case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, fileio.ErrClosed):
							t.Errorf("unexpected error %v", err)
						}
						if errors.Is(err, fileio.ErrClosed) {
							return
						}
					}
				}()
			}
			time.Sleep(time.Duration(round) * 5 * time.Millisecond)
			r.Close()
			wg.Wait()
		}
	})
}

func TestBackendChoice(t *testing.T) {
	t.Setenv(fileio.EnvBackend, "workers")
	r, err := fileio.New()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Backend() != fileio.Workers {
		t.Fatalf("%s=workers gave %v", fileio.EnvBackend, r.Backend())
	}
	t.Setenv(fileio.EnvBackend, "bogus")
	if _, err := fileio.New(); err == nil || !strings.Contains(err.Error(), fileio.EnvBackend) {
		t.Fatalf("bad %s value: %v, want an error naming the variable", fileio.EnvBackend, err)
	}
	// The option wins over the environment.
	r2, err := fileio.New(fileio.WithBackend(fileio.Workers))
	if err != nil {
		t.Fatal(err)
	}
	r2.Close()
	t.Setenv(fileio.EnvBackend, "auto")
	r3, err := fileio.New()
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if r3.Backend() == fileio.Workers && r3.FallbackReason() == "" {
		t.Fatal("auto fell back to workers without saying why")
	}
	if runtime.GOOS != "linux" && r3.Backend() != fileio.Workers {
		t.Fatalf("auto chose %v on %s", r3.Backend(), runtime.GOOS)
	}
	for _, bad := range []fileio.Option{fileio.WithMaxInFlight(0), fileio.WithCache(-1)} {
		if _, err := fileio.New(bad); err == nil {
			t.Fatal("New accepted an invalid option")
		}
	}
}

// TestReaderGarbage drops used Readers and runs the collector: nothing
// may stay pinned in an op that becomes garbage (the runtime would panic
// in the Pinner's finalizer).
func TestReaderGarbage(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", []byte("garbage"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		for range 3 {
			r, err := fileio.New(fileio.WithBackend(b))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if _, err := r.ReadFile(ctx, p).Await(); err != nil {
				t.Fatal(err)
			}
			cancel()
			r.Close()
		}
		for range 3 {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestHeldResultsDoNotBlock starts more reads than the in-flight bound
// before consuming any: the bound limits I/O in progress, not results
// waiting to be consumed.
func TestHeldResultsDoNotBlock(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", []byte("held"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b, fileio.WithMaxInFlight(2))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var tasks []vtask.Task[[]byte]
		for range 20 {
			tasks = append(tasks, r.ReadFile(ctx, p))
		}
		for i, task := range tasks {
			if got, err := await(t, task); err != nil || string(got) != "held" {
				t.Fatalf("read %d: %q, %v", i, got, err)
			}
		}
		if h, m := r.PoolStats(); h+m != 20 || m < 2 {
			t.Fatalf("pool hits %d misses %d: want 20 rents and at least 2 ops", h, m)
		}
	})
}

// countingExecutor runs functions on new goroutines and counts them.
type countingExecutor struct{ n atomic.Int32 }

func (e *countingExecutor) Execute(fn func(any), arg any) {
	e.n.Add(1)
	go fn(arg)
}

func signal(arg any) { close(arg.(chan struct{})) }

func TestWithExecutor(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f", []byte("exec"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		e := &countingExecutor{}
		r := newReader(t, b, fileio.WithExecutor(e))
		task := r.ReadFile(context.Background(), p)
		done := make(chan struct{})
		if err := task.OnCompleted(signal, done); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("continuation did not run")
		}
		if e.n.Load() != 1 {
			t.Fatalf("executor ran %d functions, want the 1 continuation", e.n.Load())
		}
		if got, err := task.Result(); err != nil || string(got) != "exec" {
			t.Fatalf("%q, %v", got, err)
		}
	})
}

// TestNoDescriptorLeak checks that every descriptor a read opens is
// closed by the time Close returns (closes run after completion).
func TestNoDescriptorLeak(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd:", err)
		}
		return len(ents)
	}
	dir := t.TempDir()
	p := writeFile(t, dir, "f", []byte("fd"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		before := fds()
		r, err := fileio.New(fileio.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		for range 200 {
			if _, err := r.ReadInto(context.Background(), p, buf).Await(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.ReadFile(context.Background(), dir).Await(); err == nil {
			t.Fatal("reading a directory succeeded")
		}
		r.Close()
		if after := fds(); after != before {
			t.Fatalf("%d descriptors open before, %d after 200 reads and Close", before, after)
		}
	})
}
