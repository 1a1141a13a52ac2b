// Command zerogc is the zerogc toolkit's command line: a walkthrough of
// zero-allocation asynchronous operations (demo), a load lab that runs a Web
// API with garbage collection on and off (load), the lab's sample API alone
// for other load tools (serve), an experiment workbench (tune), the
// side-by-side benchmarks (bench) and a build-time proof that functions
// marked //zerogc:noalloc never allocate (check).
//
// Usage:
//
//	zerogc <command> [flags]
//
// Run "zerogc help <command>" for the flags of one command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand of zerogc. Each lives in its own file and adds
// itself to commands from an init function.
type command struct {
	name    string
	summary string
	// run executes the command with the arguments that follow its name.
	// It returns errUsage (possibly wrapped) for bad flags, which makes
	// main exit with status 2.
	run func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("zerogc: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error caused by how the command was invoked.
var errUsage = errors.New("usage error")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				_ = c.run([]string{"--help"}, stdout, stderr)
				return 0
			}
			fmt.Fprintf(stderr, "zerogc: unknown command %q\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "zerogc: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	err := c.run(args[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "zerogc %s: %v\n", name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "zerogc %s: %v\n", name, err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "zerogc: a toolkit for Go code that must not make garbage")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  zerogc <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "zerogc <command> --help" for the flags of a command.`)
}

// newFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting, and prints its usage to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("zerogc "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: zerogc %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and wraps a parse failure in errUsage. Flags given
// after positional arguments are rejected: no command takes positionals.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (see --help)", errUsage, fs.Arg(0))
	}
	return nil
}
