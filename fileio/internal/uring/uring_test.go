//go:build linux

package uring

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func newRing(t *testing.T) *Ring {
	t.Helper()
	r, err := New(8)
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func waitOne(t *testing.T, r *Ring) CQE {
	t.Helper()
	if _, err := r.Enter(1); err != nil {
		t.Fatal(err)
	}
	c := r.PeekCQE()
	if c == nil {
		t.Fatal("no completion after waiting for one")
	}
	v := *c
	r.AdvanceCQ()
	return v
}

// TestOpenStatReadClose drives one file through the four operations fileio
// uses and checks each result against the file on disk.
func TestOpenStatReadClose(t *testing.T) {
	r := newRing(t)
	want := []byte("hello, io_uring\n")
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, want, 0o600); err != nil {
		t.Fatal(err)
	}
	path := append([]byte(p), 0)

	PrepOpenat(r.NextSQE(), unix.AT_FDCWD, &path[0], unix.O_RDONLY|unix.O_CLOEXEC, 0, 1)
	c := waitOne(t, r)
	if c.UserData != 1 || c.Res < 0 {
		t.Fatalf("openat: %+v (%v)", c, Errno(c.Res))
	}
	fd := c.Res

	var st unix.Statx_t
	empty := []byte{0}
	PrepStatx(r.NextSQE(), fd, &empty[0], unix.AT_EMPTY_PATH, unix.STATX_SIZE|unix.STATX_TYPE, &st, 2)
	if c = waitOne(t, r); c.UserData != 2 || c.Res != 0 {
		t.Fatalf("statx: %+v (%v)", c, Errno(c.Res))
	}
	if st.Size != uint64(len(want)) {
		t.Fatalf("statx size %d, want %d", st.Size, len(want))
	}

	buf := make([]byte, 64)
	PrepRead(r.NextSQE(), fd, &buf[0], uint32(len(buf)), 0, 3)
	if c = waitOne(t, r); c.UserData != 3 || int(c.Res) != len(want) {
		t.Fatalf("read: %+v (%v)", c, Errno(c.Res))
	}
	if string(buf[:c.Res]) != string(want) {
		t.Fatalf("read %q, want %q", buf[:c.Res], want)
	}

	PrepClose(r.NextSQE(), fd, 4)
	if c = waitOne(t, r); c.UserData != 4 || c.Res != 0 {
		t.Fatalf("close: %+v (%v)", c, Errno(c.Res))
	}
}

// TestOpenMissing checks that an error comes back as a negative errno.
func TestOpenMissing(t *testing.T) {
	r := newRing(t)
	path := append([]byte(filepath.Join(t.TempDir(), "missing")), 0)
	PrepOpenat(r.NextSQE(), unix.AT_FDCWD, &path[0], unix.O_RDONLY, 0, 7)
	c := waitOne(t, r)
	if Errno(c.Res) != unix.ENOENT {
		t.Fatalf("res %d (%v), want ENOENT", c.Res, Errno(c.Res))
	}
}

// TestCancelBlockedRead cancels a read parked on an empty pipe.
func TestCancelBlockedRead(t *testing.T) {
	r := newRing(t)
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := make([]byte, 8)
	PrepRead(r.NextSQE(), int32(p[0]), &buf[0], 8, ^uint64(0), 10)
	if _, err := r.Enter(0); err != nil {
		t.Fatal(err)
	}
	PrepCancel(r.NextSQE(), 10, 11)
	got := map[uint64]int32{}
	for len(got) < 2 {
		c := waitOne(t, r)
		got[c.UserData] = c.Res
	}
	if Errno(got[10]) != unix.ECANCELED {
		t.Fatalf("read result %d (%v), want ECANCELED", got[10], Errno(got[10]))
	}
	if got[11] != 0 {
		t.Fatalf("cancel result %d (%v), want 0", got[11], Errno(got[11]))
	}
}

// TestSQFull checks that NextSQE reports a full queue instead of
// overwriting entries the kernel has not consumed.
func TestSQFull(t *testing.T) {
	r := newRing(t)
	n := 0
	for r.NextSQE() != nil {
		n++
		if n > 1<<16 {
			t.Fatal("NextSQE never reported a full queue")
		}
	}
	if n != int(r.SQEntries()) {
		t.Fatalf("prepared %d entries, ring has %d", n, r.SQEntries())
	}
	// Turn them into no-ops and submit: the queue must accept entries again.
	for i := range r.sqes {
		PrepNop(&r.sqes[i], uint64(i))
	}
	if _, err := r.Enter(uint32(n)); err != nil {
		t.Fatal(err)
	}
	if r.NextSQE() == nil {
		t.Fatal("queue still full after the kernel consumed every entry")
	}
}

// TestSetMaxWorkers checks the register call is accepted (Linux 5.15+).
func TestSetMaxWorkers(t *testing.T) {
	r := newRing(t)
	if err := r.SetMaxWorkers(2, 0); errors.Is(err, unix.EINVAL) {
		t.Skip("kernel lacks IORING_REGISTER_IOWQ_MAX_WORKERS:", err)
	} else if err != nil {
		t.Fatal(err)
	}
}

// TestDirectChain runs the chain fileio submits for one ReadInto: openat
// into a slot of the registered file table, a linked read of the buffer at
// offset 0 on that slot, a hard-linked one-byte read at offset len(buf)
// that does not wait (RWF_NOWAIT), then a close of the slot. It checks
// every result for a file that fits, one that is larger than the buffer,
// a missing file (the links fail with ECANCELED) and a FIFO (the offset is
// ignored: reads take what the pipe holds; the probe of a drained pipe
// fails instead of waiting).
func TestDirectChain(t *testing.T) {
	r := newRing(t)
	if !r.Supports(OpOpenat, OpRead, OpClose) {
		t.Skip("kernel lacks openat/read/close requests")
	}
	if err := r.RegisterSparseFiles(4); err != nil {
		t.Skip("no registered file table:", err)
	}
	dir := t.TempDir()
	chain := func(name string, bufLen int) (res [4]int32, buf []byte) {
		t.Helper()
		path := append([]byte(filepath.Join(dir, name)), 0)
		buf = make([]byte, bufLen)
		var probe [1]byte
		PrepOpenatDirect(r.NextSQE(), unix.AT_FDCWD, &path[0], unix.O_RDONLY, 0, 2, 0)
		r.sqes[(r.sqLocalTail-1)&r.sqMask].Flags |= FlagLink
		e := r.NextSQE()
		PrepRead(e, 2, &buf[0], uint32(bufLen), 0, 1)
		e.Flags |= FlagFixedFile | FlagLink
		e = r.NextSQE()
		PrepRead(e, 2, &probe[0], 1, uint64(bufLen), 2)
		e.Flags |= FlagFixedFile
		e.OpFlags = RWFNoWait
		got := 0
		for got < 3 {
			c := waitOne(t, r)
			res[c.UserData] = c.Res
			got++
		}
		PrepCloseDirect(r.NextSQE(), 2, 3)
		res[3] = waitOne(t, r).Res
		return res, buf
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res, buf := chain("f", 10); res != [4]int32{0, 10, 0, 0} || string(buf) != "0123456789" {
		t.Fatalf("exact fit: results %v, buf %q", res, buf)
	}
	if res, _ := chain("f", 4); res != [4]int32{0, 4, 1, 0} {
		t.Fatalf("larger file: results %v, want the probe byte read", res)
	}
	if res, _ := chain("f", 16); res[0] != 0 || res[1] != 10 || Errno(res[2]) != unix.ECANCELED {
		t.Fatalf("smaller file: results %v, want a short read that cancels the link", res)
	}
	if res, _ := chain("missing", 4); Errno(res[0]) != unix.ENOENT || Errno(res[1]) != unix.ECANCELED || Errno(res[2]) != unix.ECANCELED {
		t.Fatalf("missing file: results %v", res)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_RDWR, 0) // a writer, so the open does not wait
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.WriteString("abc"); err != nil {
		t.Fatal(err)
	}
	if res, buf := chain("fifo", 8); res[0] != 0 || res[1] != 3 || Errno(res[2]) != unix.ECANCELED || string(buf[:3]) != "abc" {
		t.Fatalf("fifo, short read: results %v, buf %q", res, buf)
	}
	if _, err := w.WriteString("xyz"); err != nil {
		t.Fatal(err)
	}
	// Pipes refuse RWF_NOWAIT reads (EOPNOTSUPP) or find no data (EAGAIN).
	if res, buf := chain("fifo", 3); res[0] != 0 || res[1] != 3 || (Errno(res[2]) != unix.EAGAIN && Errno(res[2]) != unix.EOPNOTSUPP) || string(buf) != "xyz" {
		t.Fatalf("fifo, buffer filled: results %v, buf %q, want the probe to fail without waiting", res, buf)
	}
}

// TestCheckDirect: this kernel either supports direct descriptors or says
// why not; a supported check leaves slot 0 empty (a second check works).
func TestCheckDirect(t *testing.T) {
	r := newRing(t)
	if err := r.RegisterSparseFiles(2); err != nil {
		t.Skip("no registered file table:", err)
	}
	if err := r.CheckDirect(); err != nil {
		t.Skip("kernel lacks direct descriptors:", err)
	}
	if err := r.CheckDirect(); err != nil {
		t.Fatal("second check:", err)
	}
	if !r.Supports(OpOpenat, OpRead, OpClose) {
		t.Fatal("direct descriptors work but the probe denies openat/read/close")
	}
	if r.Supports(255) {
		t.Fatal("the probe claims opcode 255")
	}
}

// TestDeferTaskrun: a ring with SINGLE_ISSUER and DEFER_TASKRUN (Linux
// 6.1) runs a request's completion when Enter gets events, on the thread
// that created it; a kernel that refuses the flags (forced here) yields a
// ring without them.
func TestDeferTaskrun(t *testing.T) {
	for _, reject := range []bool{false, true} {
		want := uint32(SetupSingleIssuer | SetupDeferTaskrun)
		if reject {
			SetRejectedFlags(want)
		}
		done := make(chan error, 1)
		var flags uint32
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r, err := NewFlags(8, want)
			if err != nil {
				done <- err
				return
			}
			defer r.Close()
			flags = r.Flags()
			PrepNop(r.NextSQE(), 7)
			if _, err := r.Enter(1); err != nil {
				done <- err
				return
			}
			c := r.PeekCQE()
			if c == nil || c.UserData != 7 {
				done <- errors.New("no completion for the nop")
				return
			}
			r.AdvanceCQ()
			done <- nil
		}()
		err := <-done
		SetRejectedFlags(0)
		if errors.Is(err, ErrUnavailable) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(reject, err)
		}
		if reject && flags != 0 {
			t.Fatalf("forced EINVAL: ring has flags %#x, want 0", flags)
		}
		if !reject && flags != want && flags != 0 {
			t.Fatalf("ring flags %#x, want %#x or 0", flags, want)
		}
		t.Logf("reject=%v: ring flags %#x", reject, flags)
	}
}
