package tune

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// setupChild makes cmd start in a process group of its own, so that
// killGroup reaches everything it starts, and die with the server.
func setupChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// limitAddressSpace caps the virtual memory of a started child
// (RLIMIT_AS). It is a backstop for the RSS watchdog: a Go program reserves
// about 1 GiB of address space it never touches, so the cap sits well
// above the memory limit and only stops a single huge allocation.
func limitAddressSpace(pid int, bytes uint64) error {
	lim := unix.Rlimit{Cur: bytes, Max: bytes}
	return unix.Prlimit(pid, unix.RLIMIT_AS, &lim, nil)
}

// killGroup kills the process group that pid leads.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
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

func platformError() error { return nil }
