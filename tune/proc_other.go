//go:build !linux

package tune

import (
	"errors"
	"os/exec"
)

func setupChild(cmd *exec.Cmd) {}

func limitAddressSpace(pid int, bytes uint64) error { return nil }

func killGroup(pid int) {}

func residentBytes(pid int) (uint64, error) {
	return 0, errors.New("tune limits the memory of a snippet on Linux only")
}

func platformError() error {
	return errors.New("zerogc tune runs snippets on Linux only: it needs process groups and /proc to enforce its limits")
}
