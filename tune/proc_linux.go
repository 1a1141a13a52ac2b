package tune

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// killRun kills a run's first process and its process group. In a PID
// namespace the first process is the namespace's init, and the kernel
// kills everything else in it.
func killRun(pid int) {
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// limitProcess sets the address-space and process-count limits of a
// started process, where no sandbox stage could set them before exec.
func limitProcess(pid int, addressSpace, procs uint64) error {
	if err := unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: addressSpace, Max: addressSpace}, nil); err != nil {
		return err
	}
	return unix.Prlimit(pid, unix.RLIMIT_NPROC, &unix.Rlimit{Cur: procs, Max: procs}, nil)
}

var pageSize = uint64(os.Getpagesize())

// residentBytes returns the resident set size of a process.
func residentBytes(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, fmt.Errorf("unexpected /proc/%d/statm: %q", pid, b)
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, err
	}
	return pages * pageSize, nil
}

// treeResident returns the resident memory of pid and all its
// descendants, found through /proc/PID/task/TID/children. Pages shared
// between processes (the program's text) count once per process, so the
// sum errs on the high side.
func treeResident(pid int) uint64 {
	var total uint64
	seen := map[int]bool{}
	stack := []int{pid}
	for len(stack) > 0 && len(seen) < 1<<16 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if rss, err := residentBytes(p); err == nil {
			total += rss
		}
		stack = append(stack, childrenOf(p)...)
	}
	return total
}

// childrenOf lists the children of every thread of a process.
func childrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if c, err := strconv.Atoi(string(f)); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// lockDir creates dir/.lock and holds an exclusive flock on it for the
// life of the returned file: the kernel drops the lock when the process
// dies, however it dies.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %v", dir, err)
	}
	return f, nil
}

// removeStaleDirs removes the directories of runners whose process is
// gone (killed with SIGKILL, or the machine lost power): their name starts
// with dirPrefix and the pid of their owner, and no process holds their
// lock. A directory of a live runner, or one without a lock file (being
// created right now), is left alone.
func removeStaleDirs(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), dirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			_ = removeTree(dir)
		}
		f.Close()
	}
}

// removeTree removes a directory tree, making the directories in it
// writable first where a snippet made them read-only.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

func platformError() error { return nil }
