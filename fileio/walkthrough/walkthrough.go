// Package walkthrough is the program behind "zerogc demo": it replays the
// seed article's example (a pooled, reusable file-reading operation) on a
// real fileio.Reader and prints a line for every internal step, then a
// table of allocations per operation measured in this process.
package walkthrough

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/vtask"
)

// Options configure Run.
type Options struct {
	// Quiet prints only the allocation table.
	Quiet bool
	// Backend selects the fileio backend; Auto defers to the
	// ZEROGC_FILEIO_BACKEND variable and then to what the kernel offers.
	Backend fileio.Backend
	// File is read instead of the demo's own small file when not empty.
	File string
	// Runs is the number of operations averaged per table row (default 1000).
	Runs int
}

// printer serializes lines written by the demo and by the goroutines that
// complete reads.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool
}

func (p *printer) line(format string, args ...any) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	fmt.Fprintf(p.w, format+"\n", args...)
	p.mu.Unlock()
}

// Run prints the walkthrough to w.
func Run(w io.Writer, opt Options) error {
	if opt.Runs <= 0 {
		opt.Runs = 1000
	}
	p := &printer{w: w, quiet: opt.Quiet}
	dir, err := os.MkdirTemp("", "zerogc-demo-")
	if err != nil {
		return fmt.Errorf("cannot make a scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)

	path := opt.File
	if path == "" {
		path = filepath.Join(dir, "hello.txt")
		if err := os.WriteFile(path, []byte("Hello from a pooled, reusable read!\n"), 0o644); err != nil {
			return err
		}
	} else if fi, err := os.Stat(path); err != nil {
		return fmt.Errorf("--file: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("--file %s: not a regular file (give a file to read)", path)
	}

	opts := []fileio.Option{fileio.WithCache(64 << 20)}
	if opt.Backend != fileio.Auto {
		opts = append(opts, fileio.WithBackend(opt.Backend))
	}
	r, err := fileio.New(opts...)
	if err != nil {
		return err
	}
	defer r.Close()

	if !opt.Quiet {
		describeBackend(p, r)
		d := &demo{p: p, r: r, path: path, dir: dir}
		fileio.SetTrace(d.trace)
		err := d.scenarios()
		fileio.SetTrace(nil)
		if err != nil {
			return err
		}
	}
	return allocTable(w, r, opt, path, dir)
}

func describeBackend(p *printer, r *fileio.Reader) {
	switch r.Backend() {
	case fileio.Uring:
		p.line("backend: uring — reads go to the kernel's io_uring; each ring's loop goroutine (one ring per P, at most 4) submits and reaps for its reads")
	default:
		p.line("backend: workers — blocking reads on a vtask.WorkerPool")
		if why := r.FallbackReason(); why != "" {
			p.line("         (io_uring not used: %s)", why)
		}
	}
	p.line("choose with --backend uring|workers or %s=uring|workers", fileio.EnvBackend)
}

type demo struct {
	p    *printer
	r    *fileio.Reader
	path string
	dir  string

	released chan struct{} // signaled on every release event

	// gate, when set, holds the completing goroutine at the first kernel
	// completion of a read until the demo closes it, so scenario 1 shows
	// the pending path however fast the machine is.
	gate atomic.Pointer[chan struct{}]
}

// trace turns fileio's events into lines.
func (d *demo) trace(e fileio.Event) {
	const tag = "    [fileio]"
	switch e.Kind {
	case fileio.EvRentHit:
		d.p.line("%s rent: pool hit, reusing op #%d (round %d)", tag, e.Slot, e.Round)
	case fileio.EvRentNew:
		d.p.line("%s rent: pool empty, new op #%d created (round %d)", tag, e.Slot, e.Round)
	case fileio.EvSyncCache:
		d.p.line("%s path: synchronous, answered from the cache (%d bytes); no op rented", tag, e.N)
	case fileio.EvSyncError:
		d.p.line("%s path: synchronous error before any I/O: %v; no op rented", tag, e.Err)
	case fileio.EvStart:
		d.p.line("%s path: asynchronous, op #%d handed to the %s backend; task token v%d", tag, e.Slot, e.Detail, e.Token)
	case fileio.EvSubmit:
		d.p.line("%s   submit %s", tag, e.Detail)
	case fileio.EvKernel:
		d.p.line("%s   done   %s -> %d", tag, e.Detail, e.N)
		if g := d.gate.Swap(nil); g != nil {
			d.p.line("%s   (the demo holds the read here until it has polled and registered)", tag)
			select {
			case <-*g:
			case <-time.After(5 * time.Second):
			}
		}
	case fileio.EvCancel:
		d.p.line("%s cancel requested (%s)", tag, e.Detail)
	case fileio.EvComplete:
		if e.Err != nil {
			d.p.line("%s complete: op #%d v%d failed: %v", tag, e.Slot, e.Token, e.Err)
		} else {
			d.p.line("%s complete: op #%d v%d succeeded with %d bytes; waiter woken / continuation run", tag, e.Slot, e.Token, e.N)
		}
	case fileio.EvRelease:
		d.p.line("%s result consumed: version bump v%d -> v%d; op #%d returned to the pool", tag, e.Token-1, e.Token, e.Slot)
		if d.released != nil {
			select {
			case d.released <- struct{}{}:
			default:
			}
		}
	}
}

func (d *demo) scenarios() error {
	steps := []struct {
		title string
		fn    func() error
	}{
		{"asynchronous read", d.asyncRead},
		{"the same task awaited twice", d.awaitTwice},
		{"synchronous read from the cache", d.cachedRead},
		{"already complete when awaited", d.alreadyComplete},
		{"missing file", d.missingFile},
		{"wait abandoned by a context timeout", d.abandoned},
	}
	for i, s := range steps {
		d.p.line("\n== %d. %s ==", i+1, s.title)
		if err := s.fn(); err != nil {
			return fmt.Errorf("scenario %q: %w", s.title, err)
		}
	}
	return nil
}

// contState is what a continuation reports back.
type contState struct {
	p           *printer
	registering bool
	ranInline   bool
	done        chan struct{}
}

// continuation is a top-level func, so registering it allocates nothing.
func continuation(arg any) {
	s := arg.(*contState)
	if s.registering {
		s.ranInline = true
		s.p.line("    [cont]   continuation runs now, inside OnCompleted: the operation was already complete")
	} else {
		s.p.line("    [cont]   continuation runs on the goroutine that completed the read")
	}
	close(s.done)
}

func (d *demo) asyncRead() error {
	d.p.line("demo  r.ReadFile(ctx, %q)", short(d.path))
	d.r.Forget(d.path)
	gate := make(chan struct{})
	d.gate.Store(&gate)
	defer d.gate.Store(nil)
	t := d.r.ReadFile(context.Background(), d.path)
	d.p.line("demo  got a Task: IsImmediate=%v, token v%d", t.IsImmediate(), t.Token())
	st, _ := t.Status()
	d.p.line("demo  status polled: %v", st)
	cs := &contState{p: d.p, done: make(chan struct{}), registering: true}
	err := t.OnCompleted(continuation, cs)
	cs2 := cs.ranInline
	cs.registering = false
	if err != nil {
		return err
	}
	if !cs2 {
		d.p.line("demo  continuation registered: it will run when the read completes")
	}
	close(gate)
	<-cs.done
	st, _ = t.Status()
	d.p.line("demo  status polled: %v", st)
	data, err := t.Result()
	if err != nil {
		return err
	}
	d.p.line("demo  Result(): %d bytes %q", len(data), preview(data))
	return nil
}

func (d *demo) awaitTwice() error {
	d.r.Forget(d.path)
	t := d.r.ReadFile(context.Background(), d.path)
	copyOfT := t
	data, err := t.Await()
	if err != nil {
		return err
	}
	d.p.line("demo  first Await: %d bytes", len(data))
	_, err = copyOfT.Await()
	d.p.line("demo  second Await (a copy of the same Task): %v", err)
	if !errors.Is(err, vtask.ErrStale) {
		return fmt.Errorf("second await returned %v, want vtask.ErrStale", err)
	}
	d.p.line("demo  refused: the first Await consumed version v%d and the op moved on to v%d and back", copyOfT.Token(), copyOfT.Token()+1)
	d.p.line("      to the pool; the copy still carries v%d, so the op answers ErrStale and can never", copyOfT.Token())
	d.p.line("      hand over another read's result (the seed's short token did the same, best effort)")
	return nil
}

func (d *demo) cachedRead() error {
	d.p.line("demo  r.ReadFile fills the cache (WithCache is opt-in) ...")
	d.r.Forget(d.path)
	if _, err := d.r.ReadFile(context.Background(), d.path).Await(); err != nil {
		return err
	}
	fi, err := os.Stat(d.path)
	if err != nil {
		return err
	}
	buf := make([]byte, fi.Size()) // a smaller buffer would fail with fileio.ErrTruncated
	d.p.line("demo  r.ReadInto(ctx, %q, buf) again", short(d.path))
	t := d.r.ReadInto(context.Background(), d.path, buf)
	st, _ := t.Status()
	d.p.line("demo  got a Task: IsImmediate=%v (token v%d, no source), status %v", t.IsImmediate(), t.Token(), st)
	n, err := t.Await()
	if err != nil {
		return err
	}
	d.p.line("demo  Await returns at once: %d bytes %q; nothing was rented, so nothing returns", n, preview(buf[:n]))
	return nil
}

func (d *demo) alreadyComplete() error {
	d.r.Forget(d.path)
	t := d.r.ReadFile(context.Background(), d.path)
	polls := 0
	for !t.IsCompleted() {
		polls++
		time.Sleep(100 * time.Microsecond)
	}
	st, _ := t.Status()
	d.p.line("demo  status polled %d time(s) until %v", polls+1, st)
	cs := &contState{p: d.p, done: make(chan struct{}), registering: true}
	if err := t.OnCompleted(continuation, cs); err != nil {
		return err
	}
	<-cs.done
	cs.registering = false
	data, err := t.Result()
	if err != nil {
		return err
	}
	d.p.line("demo  Result(): %d bytes, no goroutine parked", len(data))
	return nil
}

func (d *demo) missingFile() error {
	missing := filepath.Join(d.dir, "no-such-file.txt")
	d.p.line("demo  r.ReadFile(ctx, %q)", short(missing))
	_, err := d.r.ReadFile(context.Background(), missing).Await()
	var pe *os.PathError
	d.p.line("demo  Await: %v", err)
	d.p.line("demo  errors.Is(err, fs.ErrNotExist) = %v, errors.As(err, *fs.PathError) = %v; nothing crashed",
		errors.Is(err, os.ErrNotExist), errors.As(err, &pe))
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("missing file gave %v", err)
	}
	return nil
}

func (d *demo) abandoned() error {
	fifo := filepath.Join(d.dir, "slow.fifo")
	if err := mkfifo(fifo); err != nil {
		d.p.line("demo  skipped: cannot make a FIFO here (%v)", err)
		return nil
	}
	wr, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer wr.Close()
	d.released = make(chan struct{}, 1)
	defer func() { d.released = nil }()

	d.p.line("demo  r.ReadInto(ctx, %q, buf): a FIFO nobody writes yet, so the read stays in flight", short(fifo))
	d.p.line("      (ReadInto tasks come from the op's Core[int], versioned apart from its Core[[]byte])")
	buf := make([]byte, 64)
	t := d.r.ReadInto(context.Background(), fifo, buf)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = t.AwaitContext(ctx)
	d.p.line("demo  AwaitContext(50ms timeout): %v — the demo stops waiting; the read goes on", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("abandoned wait returned %v", err)
	}
	d.p.line("demo  now a writer shows up, writes a line and closes (end of file) ...")
	if _, err := wr.Write([]byte("late data\n")); err != nil {
		return err
	}
	wr.Close()
	select {
	case <-d.released:
		d.p.line("demo  the read completed with nobody waiting: the op consumed its own result and went back to the pool")
	case <-time.After(10 * time.Second):
		return errors.New("the abandoned op did not return to the pool within 10s")
	}
	return nil
}

// allocTable measures allocations per operation for each path, in this
// process, now.
func allocTable(w io.Writer, r *fileio.Reader, opt Options, path, dir string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	size := int(fi.Size())
	if size > 0 && opt.Runs*size > 256<<20 {
		// Keep a big --file from taking minutes: at most ~256 MiB per row.
		opt.Runs = max(10, (256<<20)/size)
	}
	buf := make([]byte, size)
	bg := context.Background()
	missing := filepath.Join(dir, "no-such-file.txt")
	canceled, cancel := context.WithCancel(bg)
	cancel()
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	// The asynchronous rows use a Reader without a cache and without
	// inline reads, so that every read goes to the backend and nothing
	// is copied into a cache.
	plain, err := fileio.New(fileio.WithBackend(r.Backend()), fileio.WithInlineReads(false))
	if err != nil {
		return err
	}
	defer plain.Close()
	// inline: the default io_uring Reader, which reads a file that is in
	// the page cache on the caller (WithInlineReads).
	inline, err := fileio.New(fileio.WithBackend(r.Backend()))
	if err != nil {
		return err
	}
	defer inline.Close()
	async := "asynchronous (" + r.Backend().String() + ")"
	rows := []struct {
		path, op, left string
		pooled         bool
		fn             func()
	}{
		{async, "ReadInto(ctx, path, buf) + Await", "", true,
			func() { _, err := plain.ReadInto(bg, path, buf).Await(); check(err) }},
		{async, "ReadInto + OnCompleted + Result", "", true,
			func() { viaContinuation(plain.ReadInto(bg, path, buf)) }},
		{async, "ReadFile(ctx, path) + Await", "the returned contents", true,
			func() { _, err := plain.ReadFile(bg, path).Await(); check(err) }},
		{"asynchronous error", "ReadFile(missing file) + Await", "the *fs.PathError", true,
			func() { _, _ = plain.ReadFile(bg, missing).Await() }},
		{"synchronous (cache)", "ReadInto(ctx, cached path, buf)", "", false,
			func() { _, err := r.ReadInto(bg, path, buf).Await(); check(err) }},
		{"synchronous (cache)", "ReadFile(ctx, cached path)", "the caller's copy", false,
			func() { _, err := r.ReadFile(bg, path).Await(); check(err) }},
		{"synchronous (page cache, inline)", "ReadInto(ctx, path, buf) (io_uring default)", "", false,
			func() { _, err := inline.ReadInto(bg, path, buf).Await(); check(err) }},
		{"synchronous error", "ReadInto with a canceled context", "", false,
			func() { _, _ = r.ReadInto(canceled, path, buf).Await() }},
		{"baseline", "go func + os.ReadFile + chan", "goroutine, channel, *os.File, contents, ...", false,
			func() {
				ch := make(chan error, 1)
				go func() { _, err := os.ReadFile(path); ch <- err }()
				check(<-ch)
			}},
	}
	if _, err := r.ReadFile(bg, path).Await(); err != nil { // fill the cache for the sync rows
		return err
	}
	fmt.Fprintf(w, "\nAllocations per operation, measured now (testing.AllocsPerRun, %d runs each; file %d bytes):\n\n", opt.Runs, size)
	fmt.Fprintf(w, "| path | operation | pooled op | allocs/op | what is allocated |\n|---|---|---|---:|---|\n")
	for _, row := range rows {
		if row.path == "synchronous (page cache, inline)" && r.Backend() != fileio.Uring {
			continue // the workers backend has no inline reads
		}
		row.fn() // warm up
		got := testing.AllocsPerRun(opt.Runs, row.fn)
		pooled := "no"
		if row.pooled {
			pooled = "yes"
		}
		left := row.left
		if got == 0 {
			left = "nothing"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %g | %s |\n", row.path, row.op, pooled, got, left)
	}
	fmt.Fprintln(w, "\nThe pooled operation itself, its task, its wait and its continuation allocate nothing;")
	fmt.Fprintln(w, "what remains is data the caller receives (contents, an error value).")
	return nil
}

// done is reused by viaContinuation: one continuation at a time.
var contDone = make(chan struct{}, 1)

func signalDone(any) { contDone <- struct{}{} }

func viaContinuation(t vtask.Task[int]) {
	if err := t.OnCompleted(signalDone, nil); err != nil {
		panic(err)
	}
	<-contDone
	if _, err := t.Result(); err != nil {
		panic(err)
	}
}

func short(p string) string {
	if dir := os.TempDir(); strings.HasPrefix(p, dir) {
		return "$TMPDIR" + strings.TrimPrefix(p, dir)
	}
	return p
}

func preview(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}
