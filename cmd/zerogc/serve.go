package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/zerogc/zerogc/lab/server"
)

func init() {
	register(&command{name: "serve", summary: "run the lab's sample API alone, for wrk, hey, k6 or your own load tool", run: runServe})
}

// runServe serves the sample API in this process until SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "[--flavor zero|nethttp] [--gc on|off|limit=SIZE] [--addr HOST:PORT]", stderr)
	flavor := fs.String("flavor", string(server.Zero), "the sample API's flavor: zero (fasthttp, no allocation per request) or nethttp (net/http, idiomatic)")
	gc := fs.String("gc", "on", "the garbage collector: on, off, or limit=SIZE (GOMEMLIMIT=SIZE with GOGC=off)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on; loopback unless you give another host (port 0: any free port)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	f, err := server.ParseFlavor(*flavor)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	mode, err := server.ParseGC(*gc)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("%w: --addr %q: %v (give host:port, e.g. 127.0.0.1:8080)", errUsage, *addr, err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v (choose another --addr; port 0 picks a free one)", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(stderr, "zerogc serve: warning: %s is not a loopback address: other machines can reach the sample API\n", *addr)
	}
	mode.Apply()
	url := "http://" + ln.Addr().String() + server.ValuesPath
	fmt.Fprintf(stdout, "zerogc serve: %s gc=%s listening on %s (pid %d); stop with Ctrl-C or SIGTERM\n", f, mode, url, os.Getpid())
	if err := server.Serve(ctx, ln, f); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Fprintln(stdout, "zerogc serve: stopped")
	return nil
}
