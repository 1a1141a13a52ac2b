//go:build linux

package uring

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkRequestShapes measures what the kernel alone charges for one
// read of a cached 4 KiB file (open, read, close), for each way fileio
// could ask for it, on one goroutine with nothing else in the way: no
// pool, no hand-off between goroutines, no waking. Reads are issued 64 at
// a time (one io_uring_enter per step of the batch), as a loop under load
// batches them. It is the floor under fileio's BenchmarkRead: on a
// machine whose cores are all busy, a read cannot take less wall time than
// this divided by the cores.
//
//   - sync: open(2), pread(2), close(2), as a worker does; sync+fstat adds
//     the fstat(2) that sizes the file.
//   - plain: openat, then read, then close, each a batch of requests
//     (three round trips); plain+fstat adds fstat(2) of each descriptor
//     between them, as fileio's plain path does.
//   - chain: openat into a slot of the registered file table, linked to a
//     read of that slot (IOSQE_IO_LINK, IOSQE_FIXED_FILE); +probe links a
//     one-byte RWF_NOWAIT read past the buffer (fileio's end-of-file test);
//     +close closes the slot in the next batch, replace leaves the file in
//     its slot for the next openat into it to close; readv reads the
//     buffer and the probe byte in one readv instead.
//   - one/: a single read per batch (per io_uring_enter), as a caller
//     reading for itself would: what fileio's inline path, which uses
//     system calls, was measured against.
func BenchmarkRequestShapes(b *testing.B) {
	const batch, size = 64, 4096
	p := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		b.Fatal(err)
	}
	path := append([]byte(p), 0)
	bufs := make([][]byte, batch)
	for i := range bufs {
		bufs[i] = make([]byte, size)
	}
	probes := make([]byte, batch)
	iovs := make([][2]unix.Iovec, batch)
	for i := range iovs {
		iovs[i][0].Base = &bufs[i][0]
		iovs[i][0].SetLen(size)
		iovs[i][1].Base = &probes[i]
		iovs[i][1].SetLen(1)
	}
	fds := make([]int32, batch)
	var st unix.Stat_t

	// complete waits for want completions and returns the results of
	// those with user_data < batch by user_data, failing on an error
	// where ok(user_data, result) says so.
	res := make([]int32, batch)
	complete := func(b *testing.B, r *Ring, want int, ok func(ud uint64, res int32) bool) {
		for got := 0; got < want; {
			if _, err := r.Enter(1); err != nil {
				b.Fatal(err)
			}
			for c := r.PeekCQE(); c != nil; c = r.PeekCQE() {
				if !ok(c.UserData, c.Res) {
					b.Fatalf("request %#x: result %d (%v)", c.UserData, c.Res, Errno(c.Res))
				}
				if c.UserData < batch {
					res[c.UserData] = c.Res
				}
				r.AdvanceCQ()
				got++
			}
		}
	}
	nonNeg := func(_ uint64, res int32) bool { return res >= 0 }
	full := func(_ uint64, res int32) bool { return res == size }

	per := batch // reads per batch
	run := func(name string, readBatch func(b *testing.B, r *Ring, n int)) {
		per := per
		b.Run(name, func(b *testing.B) {
			r, err := New(4 * batch)
			if err != nil {
				b.Skip(err)
			}
			defer r.Close()
			if err := r.RegisterSparseFiles(batch); err != nil {
				b.Skip("no registered file table:", err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += per {
				readBatch(b, r, min(per, b.N-i))
			}
		})
	}
	syncRead := func(fstat bool) func(*testing.B, *Ring, int) {
		return func(b *testing.B, _ *Ring, n int) {
			for i := range n {
				// openat(2) by hand: unix.Open would allocate the C string.
				r0, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(&path[0])), unix.O_RDONLY|unix.O_CLOEXEC, 0, 0, 0)
				if errno != 0 {
					b.Fatal(errno)
				}
				fd := int(r0)
				if fstat {
					if err := unix.Fstat(fd, &st); err != nil {
						b.Fatal(err)
					}
				}
				if m, err := unix.Pread(fd, bufs[i], 0); m != size || err != nil {
					b.Fatalf("pread: %d, %v", m, err)
				}
				if err := unix.Close(fd); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	run("sync", syncRead(false))
	run("sync+fstat", syncRead(true))
	plain := func(fstat bool) func(*testing.B, *Ring, int) {
		return func(b *testing.B, r *Ring, n int) {
			for i := range n {
				PrepOpenat(r.NextSQE(), unix.AT_FDCWD, &path[0], unix.O_RDONLY|unix.O_CLOEXEC, 0, uint64(i))
			}
			complete(b, r, n, nonNeg)
			for i := range n {
				fds[i] = res[i]
				if fstat {
					if err := unix.Fstat(int(fds[i]), &st); err != nil {
						b.Fatal(err)
					}
				}
				PrepRead(r.NextSQE(), fds[i], &bufs[i][0], size, ^uint64(0), uint64(i))
			}
			complete(b, r, n, full)
			for i := range n {
				PrepClose(r.NextSQE(), fds[i], uint64(i))
			}
			complete(b, r, n, nonNeg)
		}
	}
	run("plain", plain(false))
	run("plain+fstat", plain(true))
	// A chain's requests carry user_data slot | tag << 8: tag 0 openat,
	// 1 read, 2 probe, 3 close.
	chainOK := func(ud uint64, res int32) bool {
		switch ud >> 8 {
		case 1:
			return res == size || res == size+1 // readv: the probe byte is past the end
		case 2:
			return res == 0
		}
		return res == 0
	}
	chain := func(probe, closeSlot, readv bool) func(*testing.B, *Ring, int) {
		return func(b *testing.B, r *Ring, n int) {
			want := 0
			for i := range n {
				slot := uint32(i)
				e := r.NextSQE()
				PrepOpenatDirect(e, unix.AT_FDCWD, &path[0], unix.O_RDONLY, 0, slot, uint64(slot))
				e.Flags |= FlagLink
				e = r.NextSQE()
				PrepRead(e, int32(slot), &bufs[i][0], size, 0, uint64(slot)|1<<8)
				if readv {
					e.Opcode = opReadv
					e.Addr = uint64(uintptr(unsafe.Pointer(&iovs[i][0])))
					e.Len = 2
				}
				e.Flags |= FlagFixedFile
				want += 2
				if probe {
					e.Flags |= FlagLink
					e = r.NextSQE()
					PrepRead(e, int32(slot), &probes[i], 1, size, uint64(slot)|2<<8)
					e.Flags |= FlagFixedFile
					e.OpFlags = RWFNoWait
					want++
				}
			}
			complete(b, r, want, chainOK)
			if closeSlot {
				for i := range n {
					PrepCloseDirect(r.NextSQE(), uint32(i), uint64(i)|3<<8)
				}
				complete(b, r, n, chainOK)
			}
		}
	}
	run("chain+close", chain(false, true, false))
	run("chain,replace", chain(false, false, false))
	run("chain+probe+close", chain(true, true, false)) // fileio's chain
	run("chain+probe,replace", chain(true, false, false))
	run("chain-readv+close", chain(false, true, true))
	run("chain-readv,replace", chain(false, false, true))
	// One read at a time: what a caller pays doing its own read inline,
	// by system calls or by one io_uring_enter.
	per = 1
	run("one/sync+fstat", syncRead(true))
	run("one/chain+probe,replace", chain(true, false, false))
}

// opReadv is IORING_OP_READV.
const opReadv uint8 = 1

// atFDCWD is AT_FDCWD in a variable, so that it converts to a system
// call argument (the constant, negative, does not).
var atFDCWD = unix.AT_FDCWD
