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

	"github.com/zerogc/zerogc/vtask"
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
		{Uring, nil, uringInline && !inlineUnavailable.Load()},
		{Uring, []Option{WithInlineReads(false)}, false},
		{Uring, []Option{WithInlineReads(true)}, uringInline && !inlineUnavailable.Load()},
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
	if inlineUnavailable.Load() || !uringInline {
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
	if n, fd, st := readInline(small, buf, false); st != inlineDone || n != len(data) || fd != -1 || !bytes.Equal(buf[:n], data) {
		t.Fatalf("whole file: %d %d %v", n, fd, st)
	}
	if n, fd, st := readInline(small, buf[:100], false); st != inlineTruncated || n != 100 || fd != -1 || !bytes.Equal(buf[:n], data[:100]) {
		t.Fatalf("small buffer: %d %d %v", n, fd, st)
	}
	if n, fd, st := readInline(empty, buf, false); st != inlineOpened || n != 0 || fd < 0 {
		t.Fatalf("empty file: %d %d %v", n, fd, st)
	} else {
		unix.Close(fd)
	}
	if n, fd, st := readInline(filepath.Join(dir, "missing"), buf, false); st != inlineNone || n != 0 || fd != -1 {
		t.Fatalf("missing file: %d %d %v", n, fd, st)
	}
	// onlyCached: read when cachestat finds it all cached, else handed
	// over unread.
	if n, fd, st := readInline(small, buf, true); !noCachestat.Load() && (st != inlineDone || n != len(data)) {
		t.Fatalf("onlyCached, cached file: %d %d %v", n, fd, st)
	} else if fd >= 0 {
		unix.Close(fd)
	}
	big := filepath.Join(dir, "big")
	bigData := bytes.Repeat([]byte("0123456"), (maxChunk+4096)/7)
	if err := os.WriteFile(big, bigData, 0o644); err != nil {
		t.Fatal(err)
	}
	warm(big)
	if n, fd, st := readInline(big, make([]byte, len(bigData)), false); st != inlineOpened || n != 0 || fd < 0 {
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
		// No readahead on this descriptor: the read below brings in
		// its 64 KiB and nothing more.
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Pread(int(f.Fd()), make([]byte, 64<<10), 0); err != nil {
			t.Fatal(err)
		}
	}
	defer f.Close()
	drop()
	if n, fd, st := readInline(part, make([]byte, len(partData)), true); st != inlineOpened || n != 0 || fd < 0 {
		t.Fatalf("onlyCached, partly cached file: %d %d %v, want it handed over unread", n, fd, st)
	} else {
		unix.Close(fd)
	}
	pbuf := make([]byte, len(partData))
	n, fd, st := readInline(part, pbuf, false)
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
	// Readahead still in flight when the pages are dropped can bring
	// them back: try a few times to catch a hand-over.
	handed := false
	for try := 0; try < 5 && !handed; try++ {
		drop()
		clear(pbuf)
		kinds, kernel, n, err := tracedKinds(t, r, part, pbuf)
		if err != nil || n != len(partData) || !bytes.Equal(pbuf, partData) {
			t.Fatalf("partly cached file: %d, %v (contents equal: %v)", n, err, bytes.Equal(pbuf, partData))
		}
		handed = len(kinds) > 1 && len(kernel) > 0 && kernel[0] == "openat (inline, on the caller)"
		if !handed {
			t.Logf("try %d: events %v, kernel steps %q: the file was back in the page cache", try, kinds, kernel)
		}
	}
	if !handed {
		t.Fatal("partly cached file: never handed over to the ring from the inline open")
	}
	// A buffer smaller than a partly cached file: ErrTruncated.
	drop()
	if _, err := r.ReadInto(context.Background(), part, pbuf[:len(pbuf)/2]).Await(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("small buffer, partly cached file: %v, want ErrTruncated", err)
	}
}

// TestInlineLargeBusy: with uringLargeAsync (off by default) and other
// reads in flight, a large ReadInto is opened on the caller (openInline)
// and read by the ring, on an io-wq thread when cachestat finds it in the
// page cache; the contents are
// whole either way, and a file dropped from the page cache is not taken
// for a cached one.
func TestInlineLargeBusy(t *testing.T) {
	if inlineUnavailable.Load() || !uringInline {
		t.Skip("readInline switched off (child run, or the kernel refuses openat2)")
	}
	p := filepath.Join(t.TempDir(), "big")
	want := bytes.Repeat([]byte("0123456789ABCDEFG"), (inlineLargeMin+5000)/17)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if fd, cached := openInline(p, make([]byte, len(want)), true); fd < 0 {
		t.Fatal("openInline opened nothing")
	} else {
		unix.Close(fd)
		if !cached && !noCachestat.Load() {
			t.Fatal("a file just written is not in the page cache, says openInline")
		}
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err == nil {
		if fd, cached := openInline(p, make([]byte, len(want)), true); fd >= 0 {
			unix.Close(fd)
			if cached {
				t.Fatal("a file dropped from the page cache is cached, says openInline")
			}
		}
	}
	saved := uringLargeAsync
	uringLargeAsync = true
	r, err := New(WithBackend(Uring))
	uringLargeAsync = saved
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var mu sync.Mutex
	opened := 0
	SetTrace(func(e Event) {
		if e.Kind == EvKernel && e.Detail == "openat (inline, on the caller)" {
			mu.Lock()
			opened++
			mu.Unlock()
		}
	})
	defer SetTrace(nil)
	// Hold inlineQuiet ops for the whole test with reads of a FIFO that
	// no one writes yet, so that every large read below sees others
	// held, however fast the first of them completes.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	var holders []vtask.Task[int]
	for range inlineQuiet {
		holders = append(holders, r.ReadInto(context.Background(), fifo, make([]byte, 8)))
	}
	defer func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.Close() // end of file for the held reads
		for _, h := range holders {
			if _, err := h.Await(); err != nil {
				t.Errorf("a FIFO read: %v", err)
			}
		}
	}()
	for round := range 2 { // cold (after the drop), then warm
		bufs := make([][]byte, 3*inlineQuiet)
		var tasks []func() (int, error)
		for i := range bufs {
			bufs[i] = make([]byte, len(want))
			tasks = append(tasks, r.ReadInto(context.Background(), p, bufs[i]).Await)
		}
		for i, await := range tasks {
			if n, err := await(); n != len(want) || err != nil || !bytes.Equal(bufs[i], want) {
				t.Fatalf("round %d read %d: %d, %v", round, i, n, err)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if opened == 0 {
		t.Fatal("no large read was opened on the caller while others were in flight")
	}
}

// TestInlineDoesNotSwallowDepth: a caller that starts many reads before it
// consumes any must get most of them through the ring, where one
// io_uring_enter carries a batch; inline each costs four system calls on
// the caller. Inline reads hold no op, so a Reader that went by the reads
// in progress alone never saw the depth: every read found the last one
// already done, went inline, and the batch never formed.
func TestInlineDoesNotSwallowDepth(t *testing.T) {
	p := inlineFile(t, 'x')
	r := cachedReader(t, p)
	defer r.Close()
	const depth = 256 // at least inlineQuiet * inlineBreak * 2
	immediate := readDeep(t, r, p, depth)
	if immediate > depth/2 {
		t.Errorf("%d of %d reads started before any was consumed completed inline; want at most %d (the rest batched through the ring)", immediate, depth, depth/2)
	}
}

// TestInlineShareAtDepth: a caller that keeps many small reads going has
// one read in inlineDeepEvery read inline (complete when ReadInto
// returns) once inlineQuiet or more are held, and the rest batched
// through the ring; with the share off, only the reads before that depth
// is reached (the low-depth rule: at most inlineQuiet × inlineBreak).
func TestInlineShareAtDepth(t *testing.T) {
	p := inlineFile(t, 'd')
	const depth = 512
	count := func(share bool) int {
		uringInlineDeep = share
		r := cachedReader(t, p)
		uringInlineDeep = true
		defer r.Close()
		return readDeep(t, r, p, depth)
	}
	off, on := count(false), count(true)
	if off > inlineQuiet*inlineBreak {
		t.Errorf("share off: %d of %d reads inline, want at most %d (before the depth is reached)", off, depth, inlineQuiet*inlineBreak)
	}
	want := (depth - off) / inlineDeepEvery
	if extra := on - off; extra < want-8 || extra > want+8 {
		t.Errorf("share on: %d reads inline, %d more than with it off; want about %d more (one in %d of the %d at depth)", on, extra, want, inlineDeepEvery, depth-off)
	}
}

// TestInlineShareBacksOff: once a read tried inline at depth misses (here
// a /proc file, which the page cache cannot serve whole), the next
// inlineDeepSkip small reads at depth all go through the ring.
func TestInlineShareBacksOff(t *testing.T) {
	if !uringInlineDeep {
		t.Skip("inline reads at depth are off in this test binary")
	}
	p := inlineFile(t, 'b')
	r := cachedReader(t, p)
	defer r.Close()
	ctx := context.Background()
	var tasks []vtask.Task[int]
	read := func(path string) bool {
		task := r.ReadInto(ctx, path, make([]byte, 4096))
		tasks = append(tasks, task)
		return task.IsImmediate()
	}
	// Reach depth: the low-depth rule sends one read in inlineBreak to the
	// ring, and those stay held (nothing is consumed here).
	for r.held() < inlineQuiet {
		read(p)
	}
	for range inlineDeepEvery {
		read("/proc/self/stat") // one of these is the deep turn, and misses
	}
	immediate := 0
	for range inlineDeepSkip - inlineDeepEvery {
		if read(p) {
			immediate++
		}
	}
	if immediate != 0 {
		t.Errorf("%d of %d small reads at depth read inline right after a miss; want none", immediate, inlineDeepSkip-inlineDeepEvery)
	}
	for range 4 * inlineDeepEvery {
		if read(p) {
			immediate++
		}
	}
	if immediate == 0 {
		t.Errorf("no read at depth went inline once the back-off was over")
	}
	for _, task := range tasks {
		if _, err := task.Await(); err != nil {
			t.Fatal(err)
		}
	}
}

// inlineFile skips t when inline reads are off on this kernel, else
// returns a 4 KiB file of c bytes in a temp dir.
func inlineFile(t *testing.T, c byte) string {
	t.Helper()
	if !uringInline || inlineUnavailable.Load() {
		t.Skip("inline reads are off on this kernel")
	}
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte{c}, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cachedReader returns an io_uring Reader (skipping t without one) after
// reading p once through it, so that p's pages are cached.
func cachedReader(t *testing.T, p string) *Reader {
	t.Helper()
	r, err := New(WithBackend(Uring))
	if err != nil {
		t.Skip(err)
	}
	if _, err := r.ReadInto(context.Background(), p, make([]byte, 4096)).Await(); err != nil {
		r.Close()
		t.Fatal(err)
	}
	return r
}

// readDeep starts depth 4 KiB reads of p on r before consuming any, then
// awaits them all (each must read 4096 bytes), and returns how many were
// complete when ReadInto returned (read inline).
func readDeep(t *testing.T, r *Reader, p string, depth int) int {
	t.Helper()
	tasks := make([]vtask.Task[int], depth)
	immediate := 0
	for i := range tasks {
		tasks[i] = r.ReadInto(context.Background(), p, make([]byte, 4096))
		if tasks[i].IsImmediate() {
			immediate++
		}
	}
	for _, task := range tasks {
		if n, err := task.Await(); n != 4096 || err != nil {
			t.Fatalf("read: %d, %v", n, err)
		}
	}
	return immediate
}
