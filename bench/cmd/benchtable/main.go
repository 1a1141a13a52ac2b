// Command benchtable runs the bench module's benchmarks and prints the
// markdown table of the README: every contender on every workload, time as a
// ratio to the hand-written floor, bytes and allocations per op, GC cycles
// per million ops and p50/p99 latency, with the date, machine, Go version and
// command that produced it.
//
// Run it from the bench module (or through "go run ./cmd/zerogc bench" from
// the repository root):
//
//	cd bench && go run ./cmd/benchtable            # the full table, about 6 minutes
//	cd bench && go run ./cmd/benchtable -quick -count=1   # a smoke run, seconds
//
// Each workload runs in its own go test process, so the 256 MiB heap of the
// GC-pressure workload never weighs on the others. The raw go test output
// can be kept with -raw for benchstat.
//
// The Redis workloads (-workloads=Redis runs all four) start a real
// redis-server themselves on a random loopback port; redis-server must be on
// PATH (Debian: apt-get install redis-server). When they are not asked for
// by name and redis-server is missing, they are left out with a note
// (under CI=true that is an error instead).
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/zerogc/zerogc/bench"
	"github.com/zerogc/zerogc/bench/internal/report"
)

// workload is one benchmark function of bench_test.go and the fixed
// iteration counts it runs with (fixed counts skip go test's calibration
// runs and make every run do the same work).
type workload struct {
	name      string // BenchmarkName without "Benchmark"
	layout    report.Layout
	benchtime string // full run
	quick     string // -quick run
	redis     bool   // needs redis-server on PATH
}

// redisLayout is the layout of a Redis workload's table: throughput as a
// ratio to rueidis.
func redisLayout(title string) report.Layout {
	return report.Layout{Title: title, Baseline: bench.RedisBaseline, Throughput: true}
}

var workloads = []workload{
	{name: "RoundTrip", layout: report.Layout{Title: "Round trip (one op = submit one operation to another goroutine and get its result)"}, benchtime: "500000x", quick: "20000x"},
	{name: "FanOut", layout: report.Layout{Title: "Fan-out (one op = a batch of 1,000 operations in flight, then wait for all)"}, benchtime: "500x", quick: "20x"},
	{name: "GCPressure", layout: report.Layout{Title: "Round trip under GC pressure (256 MiB live pointer-rich heap; every op timed)"}, benchtime: "1500000x", quick: "100000x"},
	{name: "RedisGet", layout: redisLayout("Redis (a): one goroutine, sequential GET (one op = one GET)"), benchtime: "50000x", quick: "2000x", redis: true},
	{name: "RedisMix", layout: redisLayout("Redis (b): 64 goroutines, 80 % GET / 20 % SET (one op = one call)"), benchtime: "200000x", quick: "5000x", redis: true},
	{name: "RedisBatch", layout: redisLayout("Redis (c): one goroutine, 100 GETs in flight, then wait for all (one op = one GET; p50/p99 per batch of 100)"), benchtime: "500000x", quick: "20000x", redis: true},
	{name: "RedisDeadline", layout: redisLayout("Redis (d): as (b), 10 % of the calls with a 50 µs deadline (one op = one call)"), benchtime: "200000x", quick: "5000x", redis: true},
}

// workloadGroups are names that -workloads expands to several workloads.
var workloadGroups = map[string][]string{
	"Redis": {"RedisGet", "RedisMix", "RedisBatch", "RedisDeadline"},
}

// redisHint says how to get the server the Redis workloads start.
const redisHint = "the Redis workloads start redis-server themselves on a random loopback port, but it is not on PATH: install it (Debian/Ubuntu: apt-get install redis-server)"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 6, "runs of each benchmark (benchstat wants 6 or more)")
	quick := fs.Bool("quick", false, "few iterations per run: a smoke run, not figures to publish")
	raw := fs.String("raw", "", "also write the raw go test output to this file (input for benchstat)")
	only := fs.String("workloads", "", "comma-separated workloads to run: "+workloadNames()+", or Redis for the four Redis ones (default all; the Redis ones need redis-server on PATH)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see -help)", fs.Arg(0))
	}
	if *count < 1 {
		return fmt.Errorf("-count must be at least 1, got %d", *count)
	}
	selected, err := selectWorkloads(*only)
	if err != nil {
		return err
	}
	if selected, err = checkRedis(selected, *only != "", stderr); err != nil {
		return err
	}
	if err := checkModuleDir(); err != nil {
		return err
	}

	start := time.Now().UTC()
	var out bytes.Buffer
	var commands []string
	for _, wl := range selected {
		bt := wl.benchtime
		if *quick {
			bt = wl.quick
		}
		testArgs := []string{"test", "-run=^$", "-bench=^Benchmark" + wl.name + "$", "-benchmem",
			fmt.Sprintf("-count=%d", *count), "-benchtime=" + bt, "-timeout=30m", "."}
		commands = append(commands, "go "+strings.Join(quoteArgs(testArgs), " "))
		fmt.Fprintf(stderr, "benchtable: %s\n", commands[len(commands)-1])
		cmd := exec.Command("go", testArgs...)
		cmd.Stdout = io.MultiWriter(&out, stderr)
		cmd.Stderr = stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", commands[len(commands)-1], err)
		}
	}
	elapsed := time.Since(start).Round(time.Second)

	if *raw != "" {
		if err := os.WriteFile(*raw, out.Bytes(), 0o644); err != nil {
			return err
		}
	}
	res, err := report.Parse(bytes.NewReader(out.Bytes()), "go test output")
	if err != nil {
		return err
	}
	layouts := report.Layouts{}
	ranRedis, ranOther := false, false
	for _, wl := range selected {
		layouts[wl.name] = wl.layout
		ranRedis = ranRedis || wl.redis
		ranOther = ranOther || !wl.redis
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s · %s, %d cores (GOMAXPROCS=%d) · %s %s/%s · %d runs per benchmark, median ±95%% confidence interval · total %s\n\n",
		start.Format("2006-01-02 15:04 MST"), cpuModel(out.Bytes()), runtime.NumCPU(), runtime.GOMAXPROCS(0),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, *count, elapsed)
	fmt.Fprintf(&b, "Command: `%s` (from the repository root), which runs in `bench/`:\n\n```\n%s\n```\n\n",
		userCommand(fs), strings.Join(commands, "\n"))
	if *quick {
		b.WriteString("**-quick run: too few iterations for figures to publish.**\n\n")
	}
	if err := res.WriteMarkdown(&b, layouts); err != nil {
		return err
	}
	if ranOther {
		b.WriteString("Contenders:\n\n")
		for _, c := range bench.Contenders() {
			fmt.Fprintf(&b, "- `%s`: %s\n", c.Name, c.Doc)
		}
	}
	if ranRedis {
		if ranOther {
			b.WriteString("\n")
		}
		b.WriteString("Redis contenders (same redis-server, same keys):\n\n")
		for _, c := range bench.RedisContenders() {
			fmt.Fprintf(&b, "- `%s`: %s\n", c.Name, c.Doc)
		}
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func selectWorkloads(list string) ([]workload, error) {
	if list == "" {
		return workloads, nil
	}
	var names []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		expanded := false
		for group, members := range workloadGroups {
			if strings.EqualFold(group, name) {
				names = append(names, members...)
				expanded = true
			}
		}
		if !expanded {
			names = append(names, name)
		}
	}
	var sel []workload
	for _, name := range names {
		found := false
		for _, wl := range workloads {
			if strings.EqualFold(wl.name, name) {
				if !slices.ContainsFunc(sel, func(s workload) bool { return s.name == wl.name }) {
					sel = append(sel, wl)
				}
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown workload %q in -workloads (known: %s, and Redis for all Redis workloads)", name, workloadNames())
		}
	}
	return sel, nil
}

func workloadNames() string {
	var names []string
	for _, wl := range workloads {
		names = append(names, wl.name)
	}
	return strings.Join(names, ",")
}

// checkRedis makes sure redis-server is on PATH when a selected workload
// needs it. Without it, workloads asked for by name are an error; in the
// default selection they are left out with a note, except under CI=true.
func checkRedis(sel []workload, named bool, stderr io.Writer) ([]workload, error) {
	if !slices.ContainsFunc(sel, func(wl workload) bool { return wl.redis }) {
		return sel, nil
	}
	if _, err := exec.LookPath("redis-server"); err == nil {
		return sel, nil
	}
	if named || os.Getenv("CI") == "true" {
		return nil, errors.New(redisHint)
	}
	fmt.Fprintf(stderr, "benchtable: leaving out the Redis workloads: %s\n", redisHint)
	return slices.DeleteFunc(slices.Clone(sel), func(wl workload) bool { return wl.redis }), nil
}

// checkModuleDir makes sure go test will run in the bench module.
func checkModuleDir() error {
	data, err := os.ReadFile("go.mod")
	if err == nil && regexp.MustCompile(`(?m)^module github\.com/zerogc/zerogc/bench\s*$`).Match(data) {
		return nil
	}
	return errors.New("run benchtable from the bench module's directory (cd bench), or use 'go run ./cmd/zerogc bench' from the repository root")
}

// cpuModel returns the processor's model name from /proc/cpuinfo, else the
// "cpu:" line go test printed, else "unknown CPU".
func cpuModel(testOutput []byte) string {
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(testOutput))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "cpu: "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// userCommand is the command a reader runs to reproduce the table: the CLI
// form, with the flags that were set.
func userCommand(fs *flag.FlagSet) string {
	cmd := "go run ./cmd/zerogc bench"
	fs.Visit(func(f *flag.Flag) {
		if f.Value.String() == "true" {
			cmd += " -" + f.Name
			return
		}
		cmd += fmt.Sprintf(" -%s=%s", f.Name, f.Value)
	})
	return cmd
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$*? ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}
