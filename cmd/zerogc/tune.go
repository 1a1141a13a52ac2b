package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/zerogc/zerogc/tune"
)

func init() {
	register(&command{
		name:    "tune",
		summary: "experiment workbench: run a snippet, read its assembly and escapes, watch the GC live",
		run:     runTune,
	})
}

func runTune(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveTune(ctx, args, stdout, stderr)
}

// serveTune parses the flags, starts the server and serves until ctx ends.
func serveTune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", "[--addr 127.0.0.1:0] [--timeout 10s] [--memory 512] [--procs 256] [--open]", stderr)
	addr := fs.String("addr", "127.0.0.1:0", "`address` to listen on (loopback only; port 0 picks a free port)")
	timeout := fs.Duration("timeout", 10*time.Second, "wall-clock limit of one run of a snippet")
	memory := fs.Int64("memory", 512, "memory limit of a snippet in `MiB` (resident, all its processes together; also its GOMEMLIMIT)")
	procs := fs.Int("procs", 256, "most processes and threads a snippet may have at once")
	open := fs.Bool("open", false, "open the page in the default browser")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return fmt.Errorf("%w: --timeout must be positive, such as 10s", errUsage)
	}
	if *memory < 16 {
		return fmt.Errorf("%w: --memory must be at least 16 (MiB)", errUsage)
	}
	if *procs < 16 {
		return fmt.Errorf("%w: --procs must be at least 16 (a Go program has about ten threads)", errUsage)
	}
	srv, err := tune.NewServer(tune.Config{
		Addr:   *addr,
		Runner: tune.Options{Timeout: *timeout, MemoryLimit: *memory << 20, MaxProcs: *procs},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zerogc tune: open %s\n(the token after # is the page's key: it stays in the browser, never in a cookie; press Ctrl+C to stop)\n", srv.URL())
	off := 0
	for _, p := range srv.Runner().Protections() {
		state := "on "
		if !p.On {
			state = "OFF"
			off++
		}
		fmt.Fprintf(stdout, "  sandbox %s %-14s %s\n", state, p.Name+":", p.How)
	}
	if off > 0 {
		fmt.Fprintf(stdout, "zerogc tune: %d protection(s) of the sandbox are off on this machine (see above and tune/README.md): run only code you would run yourself\n", off)
	}
	if *open {
		if err := openBrowser(srv.URL()); err != nil {
			fmt.Fprintf(stderr, "zerogc tune: could not open a browser (%v); open the address above yourself\n", err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}
