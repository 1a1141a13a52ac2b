package redisproc

import "syscall"

// diesWithParent asks the kernel to kill the server when the process that
// started it dies, so that a zerogc ended by SIGKILL leaves no redis-server
// behind.
func diesWithParent(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
