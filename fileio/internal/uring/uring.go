//go:build linux

// Package uring is a minimal io_uring ring written for fileio: setup, the
// memory-mapped submission and completion queues, and the few operations
// fileio needs (openat, read, statx, close, async-cancel, nop).
//
// A Ring is not safe for concurrent use: one goroutine owns it, prepares
// submission queue entries with NextSQE, hands them to the kernel with Enter
// and reaps completions with PeekCQE/AdvanceCQ. The only memory shared with
// the kernel is the mmapped ring; the head and tail counters are read and
// written with sync/atomic, which on every Go platform is sequentially
// consistent and therefore provides the acquire/release ordering the
// io_uring protocol requires:
//
//   - SQ: fill the entry, then store the tail (release) so the kernel sees
//     the entry before the new tail; load the head (acquire) to learn which
//     entries the kernel has consumed.
//   - CQ: load the tail (acquire) before reading entries; store the head
//     (release) after reading them so the kernel does not overwrite an
//     entry we are still reading.
package uring

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes (include/uapi/linux/io_uring.h).
const (
	OpNop         uint8 = 0
	OpAsyncCancel uint8 = 14
	OpOpenat      uint8 = 18
	OpClose       uint8 = 19
	OpStatx       uint8 = 21
	OpRead        uint8 = 22

	// OpFixedFdInstall installs a direct descriptor into the process's
	// descriptor table (Linux 6.8).
	OpFixedFdInstall uint8 = 54
)

// SQE flags (IOSQE_*).
const (
	// FlagFixedFile: Fd is an index into the registered file table.
	FlagFixedFile uint8 = 1 << 0
	// FlagLink: the next entry starts only after this one succeeded; a
	// failure (or a short read) fails the rest of the chain with ECANCELED.
	FlagLink uint8 = 1 << 2
	// FlagHardlink: like FlagLink, but the next entry starts whatever
	// this one's result.
	FlagHardlink uint8 = 1 << 3
	// FlagAsync: hand the request to an io-wq thread instead of trying it
	// inline in io_uring_enter.
	FlagAsync uint8 = 1 << 4
)

// Setup flags, feature bits and enter flags used here.
const (
	setupClamp     = 1 << 4
	featSingleMmap = 1 << 0
	featNoDrop     = 1 << 1
	enterGetEvents = 1 << 0

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000
)

// SQE is a submission queue entry (struct io_uring_sqe, 64 bytes). The
// unions of the C struct are flattened to the members fileio uses.
type SQE struct {
	Opcode      uint8
	Flags       uint8
	Ioprio      uint16
	Fd          int32
	Off         uint64 // off / addr2
	Addr        uint64 // addr / splice_off_in
	Len         uint32
	OpFlags     uint32 // rw_flags, open_flags, statx_flags, cancel_flags, ...
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	FileIndex   uint32 // splice_fd_in / file_index
	Addr3       uint64
	pad         uint64
}

// CQE is a completion queue entry (struct io_uring_cqe without the big-CQE
// extension).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

type sqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
	UserAddr                                                        uint64
}

type cqringOffsets struct {
	Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1 uint32
	UserAddr                                                        uint64
}

// params is struct io_uring_params (120 bytes).
type params struct {
	SqEntries    uint32
	CqEntries    uint32
	Flags        uint32
	SqThreadCPU  uint32
	SqThreadIdle uint32
	Features     uint32
	WqFd         uint32
	Resv         [3]uint32
	SqOff        sqringOffsets
	CqOff        cqringOffsets
}

// Compile-time checks of the kernel ABI sizes.
var (
	_ [64 - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(SQE{}) - 64]byte
	_ [16 - unsafe.Sizeof(CQE{})]byte
	_ [unsafe.Sizeof(CQE{}) - 16]byte
	_ [120 - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(params{}) - 120]byte
)

// Ring is one io_uring instance with its mapped queues.
type Ring struct {
	fd    int
	flags uint32

	sqMem, cqMem, sqeMem []byte

	sqHead, sqTail *uint32
	sqMask         uint32
	sqEntries      uint32
	sqArray        []uint32
	sqes           []SQE
	sqLocalTail    uint32 // entries prepared; published to the kernel by Enter

	cqHead, cqTail *uint32
	cqMask         uint32
	cqEntries      uint32
	cqes           []CQE
}

// ErrUnavailable wraps every reason io_uring cannot be used on this system.
var ErrUnavailable = errors.New("io_uring unavailable")

// DisabledSysctl is the sysctl that switches io_uring off system-wide.
const DisabledSysctl = "/proc/sys/kernel/io_uring_disabled"

// New sets up a ring with at least entries submission entries (rounded up
// to a power of two by the kernel) and a completion queue twice as large.
// It returns an error wrapping ErrUnavailable when the kernel lacks
// io_uring (ENOSYS), a seccomp filter or policy refuses it (EPERM, EACCES),
// or the io_uring_disabled sysctl forbids it.
func New(entries uint32) (*Ring, error) { return NewFlags(entries, 0) }

// Setup flags callers may ask NewFlags for.
const (
	// SetupCoopTaskrun: the kernel does not interrupt the task in
	// userspace to run completion work; it runs at the next
	// io_uring_enter (Linux 5.19).
	SetupCoopTaskrun = 1 << 8
	// SetupSingleIssuer: only the thread that created the ring submits
	// (Linux 6.0).
	SetupSingleIssuer = 1 << 12
	// SetupDeferTaskrun: completion work runs only inside io_uring_enter
	// with IORING_ENTER_GETEVENTS; needs SetupSingleIssuer (Linux 6.1).
	SetupDeferTaskrun = 1 << 13
)

// NewFlags is New with extra setup flags. A kernel that rejects them
// (EINVAL) gets a ring without them; Flags reports what the ring has.
// With SetupSingleIssuer the ring belongs to the calling OS thread: only
// that thread may submit, register or (with SetupDeferTaskrun) wait.
func NewFlags(entries, flags uint32) (*Ring, error) {
	r, err := setupRing(entries, flags)
	if err != nil && flags != 0 && errors.Is(err, unix.EINVAL) {
		r, err = setupRing(entries, 0)
	}
	return r, err
}

// rejectFlags: setup flags setupRing refuses with EINVAL, as a kernel
// without them does (SetRejectedFlags).
var rejectFlags atomic.Uint32

// SetRejectedFlags makes rings set up from now on fail with EINVAL when
// asked for any of flags, as on a kernel that lacks them, so that tests
// can exercise the fallback of NewFlags; 0 restores the kernel's answer.
func SetRejectedFlags(flags uint32) { rejectFlags.Store(flags) }

// Flags reports the setup flags the ring was created with, beyond the
// ones every ring has.
func (r *Ring) Flags() uint32 { return r.flags }

func setupRing(entries, flags uint32) (*Ring, error) {
	if b, err := os.ReadFile(DisabledSysctl); err == nil {
		v := strings.TrimSpace(string(b))
		if v == "2" {
			return nil, fmt.Errorf("%w: %s is 2 (disabled for all processes)", ErrUnavailable, DisabledSysctl)
		}
	}
	var p params
	p.Flags = setupClamp | flags
	if flags&rejectFlags.Load() != 0 {
		return nil, fmt.Errorf("%w: io_uring_setup: %w", ErrUnavailable, unix.EINVAL)
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		switch errno {
		case unix.ENOSYS:
			return nil, fmt.Errorf("%w: kernel has no io_uring (ENOSYS)", ErrUnavailable)
		case unix.EPERM, unix.EACCES:
			return nil, fmt.Errorf("%w: io_uring_setup refused (%v): seccomp filter, container policy or %s=1 without the io_uring group", ErrUnavailable, errno, DisabledSysctl)
		default:
			return nil, fmt.Errorf("%w: io_uring_setup: %w", ErrUnavailable, errno)
		}
	}
	r := &Ring{fd: int(fd), flags: flags}
	if err := r.mapRings(&p); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings(p *params) error {
	if p.Features&featNoDrop == 0 {
		return fmt.Errorf("%w: kernel lacks IORING_FEAT_NODROP (needs Linux 5.5+)", ErrUnavailable)
	}
	sqSize := uintptr(p.SqOff.Array) + uintptr(p.SqEntries)*4
	cqSize := uintptr(p.CqOff.Cqes) + uintptr(p.CqEntries)*unsafe.Sizeof(CQE{})
	single := p.Features&featSingleMmap != 0
	if single && cqSize > sqSize {
		sqSize = cqSize
	}
	var err error
	r.sqMem, err = unix.Mmap(r.fd, offSQRing, int(sqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("io_uring: mmap SQ ring: %w", err)
	}
	if single {
		r.cqMem = r.sqMem
	} else {
		r.cqMem, err = unix.Mmap(r.fd, offCQRing, int(cqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("io_uring: mmap CQ ring: %w", err)
		}
	}
	sqeSize := int(p.SqEntries) * int(unsafe.Sizeof(SQE{}))
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("io_uring: mmap SQEs: %w", err)
	}

	sq := unsafe.Pointer(&r.sqMem[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, p.SqOff.Head))
	r.sqTail = (*uint32)(unsafe.Add(sq, p.SqOff.Tail))
	r.sqMask = *(*uint32)(unsafe.Add(sq, p.SqOff.RingMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, p.SqOff.RingEntries))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(sq, p.SqOff.Array)), r.sqEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.SqEntries)
	// The array indirection is fixed: slot i of the ring names SQE i.
	for i := range r.sqArray {
		r.sqArray[i] = uint32(i)
	}
	r.sqLocalTail = atomic.LoadUint32(r.sqTail)

	cq := unsafe.Pointer(&r.cqMem[0])
	r.cqHead = (*uint32)(unsafe.Add(cq, p.CqOff.Head))
	r.cqTail = (*uint32)(unsafe.Add(cq, p.CqOff.Tail))
	r.cqMask = *(*uint32)(unsafe.Add(cq, p.CqOff.RingMask))
	r.cqEntries = *(*uint32)(unsafe.Add(cq, p.CqOff.RingEntries))
	r.cqes = unsafe.Slice((*CQE)(unsafe.Add(cq, p.CqOff.Cqes)), r.cqEntries)
	return nil
}

// SQEntries reports the size of the submission queue.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries reports the size of the completion queue.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// NextSQE returns a zeroed submission entry to fill, or nil when the
// submission queue is full (call Enter to hand the prepared entries over).
// The entry becomes visible to the kernel at the next Enter.
func (r *Ring) NextSQE() *SQE {
	head := atomic.LoadUint32(r.sqHead) // acquire: the kernel is done with entries before head
	if r.sqLocalTail-head >= r.sqEntries {
		return nil
	}
	e := &r.sqes[r.sqLocalTail&r.sqMask]
	*e = SQE{}
	r.sqLocalTail++
	return e
}

// SQFree reports how many entries NextSQE can hand out before the
// submission queue is full.
func (r *Ring) SQFree() uint32 {
	return r.sqEntries - (r.sqLocalTail - atomic.LoadUint32(r.sqHead))
}

// Pending reports how many prepared entries the kernel has not consumed.
func (r *Ring) Pending() uint32 { return r.sqLocalTail - atomic.LoadUint32(r.sqHead) }

// Enter publishes the prepared entries and calls io_uring_enter, waiting
// for at least minComplete completions when minComplete > 0. It returns
// the number of entries the kernel consumed. An interrupted call (EINTR)
// is retried; EAGAIN and EBUSY (completion queue backed up) are returned
// so the caller reaps completions and calls again.
func (r *Ring) Enter(minComplete uint32) (int, error) {
	// release: the entries written above are visible before the new tail.
	atomic.StoreUint32(r.sqTail, r.sqLocalTail)
	var flags uintptr
	if minComplete > 0 || r.flags&SetupDeferTaskrun != 0 {
		// With DEFER_TASKRUN completion work runs only in a call that
		// gets events; with minComplete 0 it runs what is queued and
		// returns.
		flags = enterGetEvents
	}
	for {
		toSubmit := r.sqLocalTail - atomic.LoadUint32(r.sqHead)
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), flags, 0, 0)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN, unix.EBUSY:
			return 0, errno
		default:
			return int(n), fmt.Errorf("io_uring_enter: %w", errno)
		}
	}
}

// PeekCQE returns the oldest unread completion, or nil when there is none.
// The entry stays valid until AdvanceCQ.
func (r *Ring) PeekCQE() *CQE {
	head := *r.cqHead                   // only this goroutine writes the head
	tail := atomic.LoadUint32(r.cqTail) // acquire: entries before tail are written
	if head == tail {
		return nil
	}
	return &r.cqes[head&r.cqMask]
}

// AdvanceCQ marks the oldest completion as consumed.
func (r *Ring) AdvanceCQ() {
	// release: we finished reading the entry before the kernel may reuse it.
	atomic.StoreUint32(r.cqHead, *r.cqHead+1)
}

// Close unmaps the queues and closes the ring descriptor. The kernel
// cancels whatever is still outstanding; callers that handed it Go memory
// must have reaped those requests first.
func (r *Ring) Close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if len(r.cqMem) > 0 && (r.sqMem == nil || &r.cqMem[0] != &r.sqMem[0]) {
		_ = unix.Munmap(r.cqMem)
	}
	r.cqMem = nil
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
		r.sqMem = nil
	}
	if r.fd >= 0 {
		_ = unix.Close(r.fd)
		r.fd = -1
	}
}

const (
	registerFiles    = 2
	registerProbe    = 8
	registerFiles2   = 13
	rsrcSparse       = 1 << 0
	probeOpSupported = 1 << 0
)

func (r *Ring) register(opcode uintptr, arg unsafe.Pointer, n uintptr) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), opcode, uintptr(arg), n, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// probe is struct io_uring_probe with room for every opcode.
type probe struct {
	LastOp uint8
	OpsLen uint8
	resv   uint16
	resv2  [3]uint32
	Ops    [256]struct {
		Op    uint8
		resv  uint8
		Flags uint16
		resv2 uint32
	}
}

// Supports reports whether the kernel implements each opcode in ops
// (IORING_REGISTER_PROBE, Linux 5.6; false when the probe itself fails).
func (r *Ring) Supports(ops ...uint8) bool {
	p := new(probe)
	if err := r.register(registerProbe, unsafe.Pointer(p), uintptr(len(p.Ops))); err != nil {
		return false
	}
	for _, op := range ops {
		if op > p.LastOp || int(op) >= int(p.OpsLen) || p.Ops[op].Flags&probeOpSupported == 0 {
			return false
		}
	}
	return true
}

// RegisterSparseFiles registers a file table of n empty slots, which
// openat can fill with direct descriptors (PrepOpenatDirect) and requests
// with FlagFixedFile use (IORING_REGISTER_FILES2 with
// IORING_RSRC_REGISTER_SPARSE, Linux 5.19; else IORING_REGISTER_FILES with
// every slot -1).
func (r *Ring) RegisterSparseFiles(n uint32) error {
	reg := struct {
		Nr, Flags  uint32
		resv2      uint64
		Data, Tags uint64
	}{Nr: n, Flags: rsrcSparse}
	err := r.register(registerFiles2, unsafe.Pointer(&reg), unsafe.Sizeof(reg))
	if err == nil {
		return nil
	}
	fds := make([]int32, n)
	for i := range fds {
		fds[i] = -1
	}
	if err2 := r.register(registerFiles, unsafe.Pointer(&fds[0]), uintptr(n)); err2 != nil {
		return fmt.Errorf("io_uring_register(FILES2 sparse: %v; FILES: %w)", err, err2)
	}
	return nil
}

// SetMaxWorkers caps the io-wq kernel threads of the ring's owner for
// bounded work (regular files) and unbounded work (sockets, pipes); 0
// leaves a limit unchanged (IORING_REGISTER_IOWQ_MAX_WORKERS, Linux 5.15).
func (r *Ring) SetMaxWorkers(bounded, unbounded uint32) error {
	const registerIOWQMaxWorkers = 19
	v := [2]uint32{bounded, unbounded}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerIOWQMaxWorkers, uintptr(unsafe.Pointer(&v)), 2, 0, 0)
	if errno != 0 {
		return fmt.Errorf("io_uring_register(IOWQ_MAX_WORKERS): %w", errno)
	}
	return nil
}

// PrepOpenat fills e for openat(dirfd, path, flags, mode). path must point
// at a NUL-terminated name that stays valid and pinned until completion.
func PrepOpenat(e *SQE, dirfd int32, path *byte, flags uint32, mode uint32, userData uint64) {
	e.Opcode = OpOpenat
	e.Fd = dirfd
	e.Addr = uint64(uintptr(unsafe.Pointer(path)))
	e.Len = mode
	e.OpFlags = flags
	e.UserData = userData
}

// PrepOpenatDirect fills e for an openat whose file goes into slot of the
// registered file table (a direct descriptor: no entry in the process's
// descriptor table) instead of a new descriptor; the result is 0 on
// success (Linux 5.15). flags must not hold O_CLOEXEC (EINVAL): a direct
// descriptor is not inherited anyway.
func PrepOpenatDirect(e *SQE, dirfd int32, path *byte, flags uint32, mode uint32, slot uint32, userData uint64) {
	PrepOpenat(e, dirfd, path, flags, mode, userData)
	e.FileIndex = slot + 1
}

// PrepCloseDirect fills e for closing slot of the registered file table
// (Linux 5.15).
func PrepCloseDirect(e *SQE, slot uint32, userData uint64) {
	e.Opcode = OpClose
	e.FileIndex = slot + 1
	e.UserData = userData
}

// PrepInstallDirect fills e for installing slot of the registered file
// table as a new close-on-exec descriptor, which the result is (Linux 6.8).
// The slot keeps its file.
func PrepInstallDirect(e *SQE, slot uint32, userData uint64) {
	e.Opcode = OpFixedFdInstall
	e.Fd = int32(slot)
	e.Flags = FlagFixedFile
	e.UserData = userData
}

// RWFNoWait, in a read's OpFlags, makes it fail with EAGAIN instead of
// waiting for data (RWF_NOWAIT).
const RWFNoWait = 0x8

// PrepRead fills e for a read of n bytes at buf from fd at offset off
// (off = ^uint64(0) reads at the file position, as for pipes).
func PrepRead(e *SQE, fd int32, buf *byte, n uint32, off uint64, userData uint64) {
	e.Opcode = OpRead
	e.Fd = fd
	e.Addr = uint64(uintptr(unsafe.Pointer(buf)))
	e.Len = n
	e.Off = off
	e.UserData = userData
}

// PrepStatx fills e for statx(dirfd, path, flags, mask, out).
func PrepStatx(e *SQE, dirfd int32, path *byte, flags uint32, mask uint32, out *unix.Statx_t, userData uint64) {
	e.Opcode = OpStatx
	e.Fd = dirfd
	e.Addr = uint64(uintptr(unsafe.Pointer(path)))
	e.Len = mask
	e.OpFlags = flags
	e.Off = uint64(uintptr(unsafe.Pointer(out)))
	e.UserData = userData
}

// PrepClose fills e for close(fd).
func PrepClose(e *SQE, fd int32, userData uint64) {
	e.Opcode = OpClose
	e.Fd = fd
	e.UserData = userData
}

// PrepCancel fills e for an async cancel of the request whose user_data is
// target.
func PrepCancel(e *SQE, target uint64, userData uint64) {
	e.Opcode = OpAsyncCancel
	e.Fd = -1
	e.Addr = target
	e.UserData = userData
}

// PrepNop fills e for a no-op.
func PrepNop(e *SQE, userData uint64) {
	e.Opcode = OpNop
	e.Fd = -1
	e.UserData = userData
}

// Errno converts a negative CQE result into a syscall.Errno.
func Errno(res int32) syscall.Errno { return syscall.Errno(-res) }

// CheckDirect opens "/" into slot 0 of the registered file table and
// closes the slot again, waiting for both: it tells whether the kernel
// implements direct descriptors for openat and close (Linux 5.15; older
// kernels refuse or ignore the slot). Call it before other requests are
// in flight; it consumes both completions.
func (r *Ring) CheckDirect() error {
	root := [2]byte{'/', 0}
	for step := range 2 {
		e := r.NextSQE()
		if e == nil {
			return errors.New("io_uring: submission queue full")
		}
		if step == 0 {
			PrepOpenatDirect(e, unix.AT_FDCWD, &root[0], unix.O_RDONLY|unix.O_DIRECTORY, 0, 0, 0)
		} else {
			PrepCloseDirect(e, 0, 0)
		}
		if _, err := r.Enter(1); err != nil {
			return err
		}
		c := r.PeekCQE()
		if c == nil {
			return errors.New("io_uring: no completion after waiting for one")
		}
		res := c.Res
		r.AdvanceCQ()
		if res > 0 && step == 0 {
			_ = unix.Close(int(res)) // an old kernel ignored the slot
			return errors.New("openat ignored the direct-descriptor slot")
		}
		if res < 0 {
			return fmt.Errorf("direct descriptor %s: %w", [2]string{"openat", "close"}[step], Errno(res))
		}
	}
	return nil
}
