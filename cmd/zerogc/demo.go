package main

import (
	"fmt"
	"io"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/fileio/walkthrough"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "walk through a pooled asynchronous file read, step by step, with measured allocations",
		run:     runDemo,
	})
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[--quiet] [--backend uring|workers] [--file PATH]", stderr)
	quiet := fs.Bool("quiet", false, "print only the allocation table")
	backend := fs.String("backend", "", "fileio backend: uring, workers or auto (default: $"+fileio.EnvBackend+", else auto)")
	file := fs.String("file", "", "read this file instead of the demo's own small file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b, err := fileio.ParseBackend(*backend)
	if err != nil {
		return fmt.Errorf("%w: --backend: %v", errUsage, err)
	}
	return walkthrough.Run(stdout, walkthrough.Options{Quiet: *quiet, Backend: b, File: *file})
}
