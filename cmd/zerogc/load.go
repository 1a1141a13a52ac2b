package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/zerogc/zerogc/lab"
	"github.com/zerogc/zerogc/lab/report"
	"github.com/zerogc/zerogc/lab/server"
)

func init() {
	// "zerogc load" runs the sample API by re-executing this program; in
	// that child process this call serves the API and never returns.
	server.RunChildIfRequested()
	register(&command{name: "load", summary: "load a Web API with GC on and off; memory over time, bytes per request", run: runLoad})
}

func runLoad(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("load", "[--flavor nethttp|zero | --url URL --pid PID] [--route values|redis] [flags]", stderr)
	flavor := fs.String("flavor", "", "start the lab's sample API: nethttp or zero (default zero unless --url is given)")
	gc := fs.String("gc", "on", "the sample API's garbage collector: on, off, or limit=SIZE (GOMEMLIMIT=SIZE with GOGC=off)")
	port := fs.Int("port", 0, "loopback port for the sample API (0: any free port)")
	route := fs.String("route", string(lab.RouteValues), "the sample API's route to load: values (GET /api/values) or redis (GET /api/values/{key}, read from Redis: resp for zero, go-redis for nethttp)")
	redisSpec := fs.String("redis", "start", redisFlagHelp)
	keys := fs.Int("keys", 1000, "with --route redis: keys stored before the run; the requests cycle through them")
	valueSize := fs.Int("value-size", 100, "with --route redis: bytes per value (16..4096)")
	url := fs.String("url", "", "load your own server at this http:// URL on loopback instead (needs --pid)")
	pid := fs.Int("pid", 0, "process id of the server at --url, whose memory is sampled")
	users := fs.Int("users", 10, "concurrent closed-loop users")
	requests := fs.Int("requests", 100000, "measured requests in total")
	delay := fs.Duration("delay", 10*time.Millisecond, "each user's pause after a response")
	warmup := fs.Int("warmup", 1000, "requests sent without delay before measuring")
	timeout := fs.Duration("timeout", 5*time.Second, "timeout of one request; a run stops when as many requests in a row as there are users (at least 3) time out")
	maxTime := fs.Duration("max-time", 0, "bound on each run, start to end (0: the worst case for the flags, 30s + ceil(warmup/users)*timeout + ceil(requests/users)*(delay+timeout))")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	compare := fs.Bool("compare", false, "run {nethttp, zero} x {gc on, gc off}, print the table, write --html and --svg")
	htmlPath := fs.String("html", "zerogc-load.html", "with --compare: where to write the HTML report")
	svgPath := fs.String("svg", "zerogc-load.svg", "with --compare: where to write the SVG chart")
	profile := fs.Bool("profile-request", false, "serve one request with every allocation recorded and print its top allocation sites")
	top := fs.Int("top", 15, "with --profile-request: how many sites to print")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := lab.Config{Port: *port, URL: *url, PID: *pid, Users: *users, Requests: *requests,
		Warmup: *warmup, Delay: *delay, Timeout: *timeout, MaxDuration: *maxTime}
	usageErr := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
	}
	switch {
	case *users < 1:
		return usageErr("--users must be at least 1")
	case *requests < 1:
		return usageErr("--requests must be at least 1")
	case *warmup < 0:
		return usageErr("--warmup must not be negative")
	case *delay < 0:
		return usageErr("--delay must not be negative")
	case *timeout <= 0:
		return usageErr("--timeout must be positive")
	case *maxTime < 0:
		return usageErr("--max-time must not be negative (0: derived from the other flags)")
	case *port < 0 || *port > 65535:
		return usageErr("--port %d is out of range 0..65535 (0 picks a free port)", *port)
	case *top < 1:
		return usageErr("--top must be at least 1")
	case *pid != 0 && *url == "":
		return usageErr("--pid needs --url (the address of that server)")
	case *url != "" && *pid == 0:
		return usageErr("--url needs --pid (the server's process id, to sample its memory)")
	case *url != "" && (set["flavor"] || set["gc"] || set["port"]):
		return usageErr("--url loads your own server: --flavor, --gc and --port apply only to the lab's sample API")
	case *compare && (*url != "" || set["flavor"] || set["gc"]):
		return usageErr("--compare runs both flavors with gc on and off itself: drop --flavor, --gc and --url")
	case *compare && *profile:
		return usageErr("choose one of --compare and --profile-request")
	case *profile && *url != "":
		return usageErr("--profile-request needs the lab's sample API (--flavor), not --url")
	case *route != string(lab.RouteRedis) && (set["redis"] || set["keys"] || set["value-size"]):
		return usageErr("--redis, --keys and --value-size apply only to --route redis")
	case *route == string(lab.RouteRedis) && *url != "":
		return usageErr("--route redis is the lab's sample API: it does not apply to --url")
	case *keys < 1:
		return usageErr("--keys must be at least 1")
	case *valueSize < 16 || *valueSize > 4096:
		return usageErr("--value-size must be 16..4096 bytes")
	}
	r, err := lab.ParseRoute(*route)
	if err != nil {
		return usageErr("%v", err)
	}
	cfg.Route = r
	if *url == "" && !*compare {
		if *flavor == "" {
			*flavor = string(server.Zero)
		}
		f, err := server.ParseFlavor(*flavor)
		if err != nil {
			return usageErr("%v", err)
		}
		cfg.Flavor = f
		if cfg.GC, err = server.ParseGC(*gc); err != nil {
			return usageErr("%v", err)
		}
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = stderr
	}

	if cfg.Route == lab.RouteRedis {
		cfg.Keys, cfg.ValueSize = *keys, *valueSize
		addr, stop, err := startRedis(*redisSpec, "load", stderr)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Redis = addr
		if *compare || cfg.Flavor == server.NetHTTP {
			prog, err := buildLabRedis()
			if err != nil {
				return err
			}
			cfg.Programs = map[server.Flavor]string{server.NetHTTP: prog}
		}
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	switch {
	case *profile:
		p, err := lab.Profile(ctx, cfg)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, p)
		}
		fmt.Fprintf(stdout, "%s, after %d warm-up requests:\n", cfg.Name(), cfg.Warmup)
		return report.WriteProfile(stdout, p, *top)
	case *compare:
		rs, err := lab.Compare(ctx, cfg)
		if err != nil {
			return err
		}
		title := fmt.Sprintf("zerogc load: %d users, %d requests, %v delay", cfg.Users, cfg.Requests, cfg.Delay)
		if cfg.Route == lab.RouteRedis {
			title = fmt.Sprintf("zerogc load --route redis: %d users, %d requests, %v delay, %d keys of %d B", cfg.Users, cfg.Requests, cfg.Delay, cfg.Keys, cfg.ValueSize)
		}
		if err := os.WriteFile(*svgPath, report.SVG(rs, title), 0o644); err != nil {
			return err
		}
		page, err := report.HTML(rs, title, "zerogc load "+strings.Join(args, " "), time.Now())
		if err != nil {
			return err
		}
		if err := os.WriteFile(*htmlPath, page, 0o644); err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, rs)
		}
		if err := report.WriteTable(stdout, rs); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s and %s\n", *htmlPath, *svgPath)
		return nil
	}
	rep, err := lab.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeJSON(stdout, rep)
	} else {
		err = report.WriteText(stdout, rep)
	}
	if err == nil && rep.Aborted != "" {
		err = fmt.Errorf("the run stopped early: %s", rep.Aborted)
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
