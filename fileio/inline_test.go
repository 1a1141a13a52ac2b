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

	"golang.org/x/sys/unix"
)

// tracedKinds runs one ReadInto and returns the kinds of its events and
// the Detail of its kernel steps.
func tracedKinds(t *testing.T, r *Reader, path string, buf []byte) (kinds []EventKind, kernel []string, n int, err error) {
	t.Helper()
	var mu sync.Mutex
	SetTrace(func(e Event) {
		if e.Path == path {
			mu.Lock()
			kinds = append(kinds, e.Kind)
			if e.Kind == EvKernel {
				kernel = append(kernel, e.Detail)
			}
			mu.Unlock()
		}
	})
	n, err = r.ReadInto(context.Background(), path, buf).Await()
	SetTrace(nil)
	mu.Lock()
	defer mu.Unlock()
	return kinds, kernel, n, err
}

// TestInlineChoice: by default an io_uring ReadInto of a small file in
// the page cache completes synchronously on the caller (readInline), with
// WithInlineReads(false) or where readInline is unavailable (the child
// test runs force that) it goes through the ring, and the workers backend
// never reads inline.
func TestInlineChoice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	want := bytes.Repeat([]byte("0123456789abcdef"), 256)
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		be     Backend
		opts   []Option
		inline bool
	}{
		{Uring, nil, !inlineUnavailable.Load()},
		{Uring, []Option{WithInlineReads(false)}, false},
		{Uring, []Option{WithInlineReads(true)}, !inlineUnavailable.Load()},
		{Workers, nil, false},
	} {
		r, err := New(append([]Option{WithBackend(c.be)}, c.opts...)...)
		if err != nil {
			t.Skip(err)
		}
		buf := make([]byte, len(want))
		for i := range 2 { // the second read finds the pages cached
			task := r.ReadInto(context.Background(), p, buf)
			if i == 1 && task.IsImmediate() != c.inline {
				t.Errorf("%v %d options: IsImmediate %v, want %v", c.be, len(c.opts), task.IsImmediate(), c.inline)
			}
			if n, err := task.Await(); n != len(want) || err != nil || !bytes.Equal(buf, want) {
				t.Fatalf("%v: %d, %v", c.be, n, err)
			}
		}
		kinds, _, _, _ := tracedKinds(t, r, p, buf)
		if got := len(kinds) == 1 && kinds[0] == EvSyncRead; got != c.inline {
			t.Errorf("%v %d options: events %v, inline %v, want %v", c.be, len(c.opts), kinds, got, c.inline)
		}
		r.Close()
	}
}

// TestInlineStates covers each outcome of readInline on regular files: the
// whole file, a buffer smaller than the file, a file larger than one
// request, an empty file, and a file whose pages were dropped from the
// page cache but for its first 64 KiB (the descriptor comes back with that
// prefix read and the file position past it).
func TestInlineStates(t *testing.T) {
	if inlineUnavailable.Load() {
		t.Skip("readInline switched off (child run, or the kernel refuses openat2)")
	}
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	data := bytes.Repeat([]byte("abcdefgh"), 512)
	if err := os.WriteFile(small, data, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	warm := func(p string) {
		if _, err := os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	warm(small)
	buf := make([]byte, 8192)
	if n, fd, st := readInline(small, buf); st != inlineDone || n != len(data) || fd != -1 || !bytes.Equal(buf[:n], data) {
		t.Fatalf("whole file: %d %d %v", n, fd, st)
	}
	if n, fd, st := readInline(small, buf[:100]); st != inlineTruncated || n != 100 || fd != -1 || !bytes.Equal(buf[:n], data[:100]) {
		t.Fatalf("small buffer: %d %d %v", n, fd, st)
	}
	if n, fd, st := readInline(empty, buf); st != inlineOpened || n != 0 || fd < 0 {
		t.Fatalf("empty file: %d %d %v", n, fd, st)
	} else {
		unix.Close(fd)
	}
	if n, fd, st := readInline(filepath.Join(dir, "missing"), buf); st != inlineNone || n != 0 || fd != -1 {
		t.Fatalf("missing file: %d %d %v", n, fd, st)
	}
	big := filepath.Join(dir, "big")
	bigData := bytes.Repeat([]byte("0123456"), (maxChunk+4096)/7)
	if err := os.WriteFile(big, bigData, 0o644); err != nil {
		t.Fatal(err)
	}
	warm(big)
	if n, fd, st := readInline(big, make([]byte, len(bigData))); st != inlineOpened || n != 0 || fd < 0 {
		t.Fatalf("larger than one request: %d %d %v", n, fd, st)
	} else {
		unix.Close(fd)
	}

	// A partly cached file: the prefix inline, the rest on the ring.
	part := filepath.Join(dir, "part")
	partData := bytes.Repeat([]byte("5432101"), (1<<20)/7)
	f, err := os.Create(part)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(partData); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	drop := func() {
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			t.Skip("posix_fadvise:", err)
		}
		if _, err := unix.Pread(int(f.Fd()), make([]byte, 64<<10), 0); err != nil {
			t.Fatal(err)
		}
		// The read may have brought readahead pages in: drop them.
		if err := unix.Fadvise(int(f.Fd()), 64<<10, 0, unix.FADV_DONTNEED); err != nil {
			t.Fatal(err)
		}
	}
	defer f.Close()
	drop()
	pbuf := make([]byte, len(partData))
	n, fd, st := readInline(part, pbuf)
	if st != inlineOpened || fd < 0 || n == len(partData) {
		t.Skipf("the page cache did not keep the prefix only (%d bytes read, %v): fadvise not honoured here", n, st)
	}
	if n > 0 {
		if pos, err := unix.Seek(fd, 0, 1); err != nil || pos != int64(n) {
			t.Fatalf("file position %d, %v after %d bytes read inline", pos, err, n)
		}
	}
	unix.Close(fd)
	if n == 0 {
		t.Logf("no prefix read inline (readahead or eviction raced the test)")
	}

	// The same through a Reader: the contents are whole.
	r, err := New(WithBackend(Uring))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	drop()
	clear(pbuf)
	kinds, kernel, n, err := tracedKinds(t, r, part, pbuf)
	if err != nil || n != len(partData) || !bytes.Equal(pbuf, partData) {
		t.Fatalf("partly cached file: %d, %v (contents equal: %v)", n, err, bytes.Equal(pbuf, partData))
	}
	if len(kinds) == 1 || len(kernel) == 0 || kernel[0] != "openat (inline, on the caller)" {
		t.Fatalf("partly cached file: events %v, kernel steps %q; want the ring to go on from the inline open", kinds, kernel)
	}
	// A buffer smaller than a partly cached file: ErrTruncated.
	drop()
	if _, err := r.ReadInto(context.Background(), part, pbuf[:len(pbuf)/2]).Await(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("small buffer, partly cached file: %v, want ErrTruncated", err)
	}
}
