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
	"syscall"
	"testing"
	"time"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/vtask"
)

// lonelyFIFO makes a named pipe that nobody has open: opening it for
// reading blocks until a writer appears. The cleanup opens it for writing
// once, so that a read left blocked in openat by a broken backend ends and
// the test does not hang in the Reader's Close.
func lonelyFIFO(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	t.Cleanup(func() { releaseFIFO(p) })
	return p
}

// releaseFIFO opens p for reading and writing (which never blocks on
// Linux) and closes it: every reader blocked in open wakes up and sees
// end of file.
func releaseFIFO(p string) {
	if f, err := os.OpenFile(p, os.O_RDWR, 0); err == nil {
		time.Sleep(10 * time.Millisecond)
		f.Close()
	}
}

// within waits up to d for task and reports its error and how long it took;
// ok is false when it did not complete in time.
func within[T any](task vtask.Task[T], d time.Duration) (took time.Duration, ok bool, err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, err = task.AwaitContext(ctx)
	if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
		return time.Since(start), false, err
	}
	return time.Since(start), true, err
}

// TestIssue11_6_BlockedOpenCancel: a read of a FIFO that has no writer (its
// open blocks, like an open on a hung network mount) must end within
// 100 ms of a cancel or of Close, and many of them must not starve the
// Reader's other reads. A FIFO read that does get a writer still reads
// what the writer sends.
func TestIssue11_6_BlockedOpenCancel(t *testing.T) {
	const prompt = 100 * time.Millisecond
	data := writeFile(t, t.TempDir(), "regular", []byte("regular file"))
	forEach(t, func(t *testing.T, b fileio.Backend) {
		p := lonelyFIFO(t)
		r, err := fileio.New(fileio.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		closed := false
		t.Cleanup(func() {
			if !closed {
				releaseFIFO(p)
				r.Close()
			}
		})

		// Cancel.
		ctx, cancel := context.WithCancel(context.Background())
		task := r.ReadFile(ctx, p)
		time.Sleep(20 * time.Millisecond)
		if task.IsCompleted() {
			t.Fatal("read of a FIFO without a writer completed before the cancel")
		}
		cancel()
		took, ok, err := within(task, 2*time.Second)
		if !ok {
			t.Fatalf("canceled read of a FIFO without a writer still pending after %v", took)
		}
		if !errors.Is(err, context.Canceled) || took > prompt {
			t.Fatalf("canceled read ended after %v with %v; want context.Canceled within %v", took, err, prompt)
		}

		// Starvation: twice as many blocked reads as the default workers.
		blocked := 8 * runtime.GOMAXPROCS(0)
		var tasks []vtask.Task[int]
		for range blocked {
			tasks = append(tasks, r.ReadInto(context.Background(), p, make([]byte, 8)))
		}
		time.Sleep(20 * time.Millisecond)
		buf := make([]byte, 64)
		reg := r.ReadInto(context.Background(), data, buf)
		if took, ok, err := within(reg, 2*time.Second); !ok || err != nil {
			t.Fatalf("with %d FIFO reads blocked, a regular read: %v after %v (completed: %v)", blocked, err, took, ok)
		}

		// Close.
		start := time.Now()
		done := make(chan struct{})
		go func() { r.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			releaseFIFO(p)
			<-done
			t.Fatalf("Close with %d FIFO reads blocked returned only after a writer appeared (%v)", blocked, time.Since(start))
		}
		closed = true
		if took := time.Since(start); took > prompt {
			t.Fatalf("Close with %d FIFO reads blocked took %v, want at most %v", blocked, took, prompt)
		}
		for i, task := range tasks {
			if _, err := await(t, task); !errors.Is(err, fileio.ErrClosed) {
				t.Fatalf("blocked read %d: %v, want ErrClosed", i, err)
			}
		}

		// A writer that shows up later is still read from start to end.
		r2 := newReader(t, b)
		got := r2.ReadFile(context.Background(), p)
		time.Sleep(20 * time.Millisecond)
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("late writer")); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if v, err := await(t, got); err != nil || string(v) != "late writer" {
			t.Fatalf("FIFO read with a late writer: %q, %v", v, err)
		}
	})
}

// holdFirstRead installs a trace hook that stops the first completed read
// request of path (its data is in the op's buffer, the read not yet
// finished) until release is closed; reached is closed when it stops.
func holdFirstRead(t *testing.T, path string) (reached, release chan struct{}) {
	reached, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	fileio.SetTrace(func(e fileio.Event) {
		if e.Kind == fileio.EvKernel && e.Detail == "read" && e.Path == path && e.N > 0 {
			once.Do(func() {
				close(reached)
				<-release
			})
		}
	})
	t.Cleanup(func() { fileio.SetTrace(nil) })
	return reached, release
}

// TestIssue11_7_ForgetDuringFill: a ReadFile that read the old contents
// before the file changed and Forget (or Purge) was called must not put
// them into the cache afterwards.
func TestIssue11_7_ForgetDuringFill(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		for _, purge := range []bool{false, true} {
			t.Run(fmt.Sprintf("purge=%v", purge), func(t *testing.T) {
				r := newReader(t, b, fileio.WithCache(1<<20))
				p := writeFile(t, t.TempDir(), "f", []byte("old contents"))
				reached, release := holdFirstRead(t, p)
				task := r.ReadFile(context.Background(), p)
				select {
				case <-reached:
				case <-time.After(5 * time.Second):
					t.Fatal("the read never reached its first read request")
				}
				writeFile(t, filepath.Dir(p), "f", []byte("new contents"))
				if purge {
					r.Purge()
				} else {
					r.Forget(p)
				}
				close(release)
				if got, err := await(t, task); err != nil || string(got) != "old contents" {
					t.Fatalf("the read in flight: %q, %v", got, err)
				}
				fileio.SetTrace(nil)
				if got, err := await(t, r.ReadFile(context.Background(), p)); err != nil || string(got) != "new contents" {
					t.Fatalf("read after the change and Forget/Purge: %q, %v; want %q", got, err, "new contents")
				}
			})
		}
	})
}

// TestIssue11_7_CacheRegularFilesOnly: only regular files whose length is
// their reported size are cached; /proc files (size 0) and FIFOs, whose
// contents change from one read to the next, are read every time.
func TestIssue11_7_CacheRegularFilesOnly(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b, fileio.WithCache(1<<20))
		ctx := context.Background()
		if _, err := os.Stat("/proc/self/stat"); err == nil {
			for i := range 2 {
				task := r.ReadFile(ctx, "/proc/self/stat")
				if task.IsImmediate() {
					t.Fatalf("read %d of /proc/self/stat came from the cache", i+1)
				}
				if _, err := await(t, task); err != nil {
					t.Fatal(err)
				}
			}
		}
		p := lonelyFIFO(t)
		opened := make(chan struct{}, 1)
		fileio.SetTrace(func(e fileio.Event) {
			if e.Kind == fileio.EvKernel && e.Path == p && (e.Detail == "open" || e.Detail == "openat") {
				opened <- struct{}{}
			}
		})
		defer fileio.SetTrace(nil)
		for i, msg := range []string{"first", "second"} {
			task := r.ReadFile(ctx, p)
			if task.IsImmediate() {
				t.Fatalf("read %d of a FIFO came from the cache", i+1)
			}
			// The writer comes once this read has the FIFO open, so
			// that its end of file is this read's.
			go func() {
				<-opened
				w, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err == nil {
					w.Write([]byte(msg))
					w.Close()
				}
			}()
			if got, err := await(t, task); err != nil || string(got) != msg {
				t.Fatalf("FIFO read %d: %q, %v; want %q", i+1, got, err, msg)
			}
		}
		fileio.SetTrace(nil)
		// A regular file still is cached.
		q := writeFile(t, t.TempDir(), "f", []byte("regular"))
		if _, err := await(t, r.ReadFile(ctx, q)); err != nil {
			t.Fatal(err)
		}
		if !r.ReadFile(ctx, q).IsImmediate() {
			t.Fatal("a regular file was not cached")
		}
	})
}

// TestIssue11_8_EMFILE: with RLIMIT_NOFILE=64, 500 concurrent reads must
// all succeed on every backend: the Reader may not open more descriptors
// than the process can hold. The limit is lowered in a child process (this
// test binary run again), so no other test runs under it.
func TestIssue11_8_EMFILE(t *testing.T) {
	if os.Getenv("FILEIO_EMFILE_CHILD") != "" {
		emfileChild(t)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestIssue11_8_EMFILE$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "FILEIO_EMFILE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child with RLIMIT_NOFILE=64 failed: %v\n%s", err, out)
	}
	for _, b := range backends(t) {
		if !strings.Contains(string(out), "500 reads on "+b.String()) {
			t.Fatalf("child did not check %v:\n%s", b, out)
		}
	}
}

func emfileChild(t *testing.T) {
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal("setrlimit:", err)
	}
	dir := t.TempDir()
	const files, reads = 10, 500
	var paths []string
	for i := range files {
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("f%d", i), pattern(1000+i, byte(i))))
	}
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		tasks := make([]vtask.Task[int], reads)
		bufs := make([][]byte, reads)
		for i := range reads {
			bufs[i] = make([]byte, 2000)
			tasks[i] = r.ReadInto(context.Background(), paths[i%files], bufs[i])
		}
		failed := 0
		var first error
		for i := range reads {
			n, err := await(t, tasks[i])
			if err != nil || !bytes.Equal(bufs[i][:n], pattern(1000+i%files, byte(i%files))) {
				failed++
				if first == nil {
					first = fmt.Errorf("read %d: %d bytes, %v", i, n, err)
				}
			}
		}
		if failed > 0 {
			t.Fatalf("%v: %d of %d reads failed under RLIMIT_NOFILE=64; first: %v", b, failed, reads, first)
		}
		t.Logf("500 reads on %v", b)
	})
}

// TestIssue11_9_ReadIntoShortBuffer: ReadInto into a buffer smaller than
// the file fails with an error matching ErrTruncated, the buffer holding
// the file's first len(buf) bytes; a buffer the exact size of the file, or
// larger, gets the whole file and no error. The cache answers the same.
func TestIssue11_9_ReadIntoShortBuffer(t *testing.T) {
	want := pattern(100, 5)
	p := writeFile(t, t.TempDir(), "f", want)
	forEach(t, func(t *testing.T, b fileio.Backend) {
		for _, cached := range []bool{false, true} {
			t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
				var opts []fileio.Option
				if cached {
					opts = append(opts, fileio.WithCache(1<<20))
				}
				r := newReader(t, b, opts...)
				ctx := context.Background()
				if cached {
					if _, err := await(t, r.ReadFile(ctx, p)); err != nil {
						t.Fatal(err)
					}
				}
				short := make([]byte, 10)
				task := r.ReadInto(ctx, p, short)
				if cached && !task.IsImmediate() {
					t.Fatal("cached file not answered from the cache")
				}
				_, err := await(t, task)
				var pe *fs.PathError
				if !errors.Is(err, fileio.ErrTruncated) || !errors.As(err, &pe) || pe.Path != p {
					t.Fatalf("ReadInto(10-byte buffer) of a 100-byte file: %v, want a *fs.PathError wrapping ErrTruncated", err)
				}
				if !bytes.Equal(short, want[:10]) {
					t.Fatalf("truncated buffer holds %v, want the file's first 10 bytes", short)
				}
				for _, size := range []int{100, 101} {
					buf := make([]byte, size)
					n, err := await(t, r.ReadInto(ctx, p, buf))
					if err != nil || n != 100 || !bytes.Equal(buf[:n], want) {
						t.Fatalf("ReadInto(%d-byte buffer) of a 100-byte file: %d, %v", size, n, err)
					}
				}
			})
		}
		// A file of unknown size (/proc) is checked by reading one more byte.
		if _, err := os.Stat("/proc/self/maps"); err == nil {
			r := newReader(t, b)
			_, err := await(t, r.ReadInto(context.Background(), "/proc/self/maps", make([]byte, 16)))
			if !errors.Is(err, fileio.ErrTruncated) {
				t.Fatalf("ReadInto(16 bytes) of /proc/self/maps: %v, want ErrTruncated", err)
			}
		}
	})
}

// TestIssue11_10_InvalidPathQuoted: the error for a path with a NUL byte
// shows the path quoted, never the raw byte.
func TestIssue11_10_InvalidPathQuoted(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b)
		_, err := r.ReadFile(context.Background(), "dir/a\x00b").Await()
		if !errors.Is(err, fileio.ErrInvalidPath) {
			t.Fatalf("%v, want ErrInvalidPath", err)
		}
		msg := err.Error()
		if strings.IndexByte(msg, 0) >= 0 || !strings.Contains(msg, `"dir/a\x00b"`) {
			t.Fatalf("error %q: want the path quoted as %q and no raw NUL", msg, `"dir/a\x00b"`)
		}
	})
}

// TestIssue11_7_StressForget races ReadFiles that fill the cache against
// rewrites of the file, each followed by Forget (or Purge), from several
// goroutines: once a rewrite and its Forget are done and the reads then in
// flight have completed, the cache must serve the new contents.
func TestIssue11_7_StressForget(t *testing.T) {
	forEach(t, func(t *testing.T, b fileio.Backend) {
		r := newReader(t, b, fileio.WithCache(1<<20))
		for g := range 4 {
			dir := t.TempDir()
			p := writeFile(t, dir, "f", []byte("version 0"))
			t.Run(fmt.Sprint(g), func(t *testing.T) {
				t.Parallel()
				tasks := make([]vtask.Task[[]byte], 8)
				for round := range 50 {
					for i := range tasks {
						tasks[i] = r.ReadFile(context.Background(), p)
					}
					// Replace the file (a new inode: a read sees one
					// version or the other), then forget it, while the
					// reads above are in flight.
					last := fmt.Sprintf("version %d", round+1)
					tmp := filepath.Join(dir, "tmp")
					if err := os.WriteFile(tmp, []byte(last), 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.Rename(tmp, p); err != nil {
						t.Fatal(err)
					}
					if round%2 == 0 {
						r.Forget(p)
					} else {
						r.Purge()
					}
					for _, task := range tasks {
						if _, err := await(t, task); err != nil {
							t.Fatal(err)
						}
					}
					if got, err := await(t, r.ReadFile(context.Background(), p)); err != nil || string(got) != last {
						t.Fatalf("round %d: after the rewrite and Forget/Purge, read %q, %v; want %q", round, got, err, last)
					}
				}
			})
		}
	})
}
