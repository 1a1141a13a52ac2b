package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/zerogc/zerogc/noalloc"
)

func init() {
	register(&command{
		name:    "check",
		summary: "prove that //zerogc:noalloc functions cannot allocate, transitively",
		run:     runCheck,
	})
}

// errAllocates is returned when a marked function can allocate; main
// exits 1 on it.
var errAllocates = errors.New("a //zerogc:noalloc function can allocate")

func runCheck(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return check(ctx, ".", args, stdout, stderr)
}

// check runs "zerogc check" on the packages named by args, resolved in dir.
func check(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", "[-v] [--json] [-C dir] [packages]  (default ./...)", stderr)
	verbose := fs.Bool("v", false, "also print the allowed findings with their //zerogc:allow reasons, the functions proven clean and notes")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout")
	fs.StringVar(&dir, "C", dir, "resolve the packages in `dir` (the go command's -C)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: zerogc check [-v] [--json] [-C dir] [packages]

check builds the packages (default ./...) and, for every function whose doc
comment holds a //zerogc:noalloc line, reports each way it can allocate on
the heap: calls of the runtime's allocating functions in its compiled code
and in every function it calls statically (inlined code included), with the
call chain and the compiler's escape-analysis reasons, and every call
through an interface or a func value (which cannot be verified).
A //zerogc:allow <reason> comment at the end of a line, or alone on the line
above it, exempts that line (and what it calls).
Exit status: 0 when every marked function is proven not to allocate,
1 when one can, 2 for bad usage.

Flags:
`)
		fs.PrintDefaults()
	}
	// Flags may come before or after the package patterns.
	var patterns []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		patterns = append(patterns, fs.Arg(0))
		args = fs.Args()[1:]
	}
	for _, p := range patterns {
		if strings.HasPrefix(p, "-") {
			return fmt.Errorf("%w: unknown flag %q (see --help)", errUsage, p)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: -C %s: not a directory (give the module's directory, or leave -C out for the current one)", errUsage, dir)
	}
	rep, err := noalloc.Check(ctx, dir, patterns)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.WriteText(stdout, *verbose)
	}
	if !rep.OK() {
		return errAllocates
	}
	return nil
}
