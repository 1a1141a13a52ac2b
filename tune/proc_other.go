//go:build !linux

package tune

import (
	"context"
	"errors"
	"os"
	"os/exec"
)

func killRun(pid int) {}

func limitProcess(pid int, addressSpace, procs uint64) error { return nil }

func treeResident(pid int) uint64 { return 0 }

func lockDir(dir string) (*os.File, error) { return nil, nil }

func removeStaleDirs(tmp string) {}

func removeTree(dir string) error { return os.RemoveAll(dir) }

// sandbox is empty off Linux: NewRunner refuses to start there.
type sandbox struct {
	exe    string
	runUID int
}

func probeSandbox() *sandbox { return &sandbox{} }

func (sb *sandbox) command(ctx context.Context, c stageConfig, asRun bool) *exec.Cmd {
	return exec.CommandContext(ctx, c.Path, c.Args[1:]...)
}

func (sb *sandbox) protections(opt Options) []Protection { return nil }

func platformError() error {
	return errors.New("zerogc tune runs snippets on Linux only: its sandbox needs Linux namespaces, Landlock and /proc")
}
