//go:build !linux

package redisproc

import "syscall"

// diesWithParent does nothing where the kernel has no parent-death signal:
// there, a zerogc ended by SIGKILL leaves its redis-server running.
func diesWithParent(*syscall.SysProcAttr) {}
