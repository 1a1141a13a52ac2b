package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

func init() {
	register(&command{name: "bench", summary: "side-by-side benchmarks against errgroup, ants, pond, conc, and (on a real redis-server) rueidis and go-redis: the README's tables", run: runBench})
}

// runBench runs the bench module's table runner (bench/cmd/benchtable) with
// go run. The bench module is a separate module, so this binary never links
// a peer library: it only starts the runner in that module's directory.
//
// "zerogc bench -workloads=Redis" runs the four Redis workloads only; they
// start redis-server themselves on a random loopback port (it must be on
// PATH: apt-get install redis-server).
func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "[flags]", stderr)
	count := fs.Int("count", 6, "runs of each benchmark (benchstat wants 6 or more)")
	quick := fs.Bool("quick", false, "few iterations per run: a smoke run in seconds, not figures to publish")
	raw := fs.String("raw", "", "also write the raw go test output to this file (input for benchstat)")
	workloads := fs.String("workloads", "", "comma-separated workloads to run: RoundTrip,FanOut,GCPressure,RedisGet,RedisMix,RedisBatch,RedisDeadline, or Redis for the four Redis ones (default all; the Redis ones start redis-server, which must be installed: apt-get install redis-server)")
	dir := fs.String("dir", "", "the bench module's directory (default: found from the current directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *count < 1 {
		return fmt.Errorf("%w: --count must be at least 1, got %d", errUsage, *count)
	}
	benchDir := *dir
	if benchDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if benchDir, err = findBenchModule(wd); err != nil {
			return err
		}
	} else if !isBenchModule(benchDir) {
		return fmt.Errorf("%w: --dir %s is not the zerogc bench module (no go.mod declaring github.com/zerogc/zerogc/bench)", errUsage, benchDir)
	}
	runnerArgs := []string{"run", "./cmd/benchtable", fmt.Sprintf("-count=%d", *count)}
	if *quick {
		runnerArgs = append(runnerArgs, "-quick")
	}
	if *raw != "" {
		abs, err := filepath.Abs(*raw) // the runner works in benchDir
		if err != nil {
			return err
		}
		runnerArgs = append(runnerArgs, "-raw="+abs)
	}
	if *workloads != "" {
		runnerArgs = append(runnerArgs, "-workloads="+*workloads)
	}
	cmd := exec.Command("go", runnerArgs...)
	cmd.Dir = benchDir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go run ./cmd/benchtable in %s: %w", benchDir, err)
	}
	return nil
}

var benchModuleLine = regexp.MustCompile(`(?m)^module github\.com/zerogc/zerogc/bench\s*$`)

func isBenchModule(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && benchModuleLine.Match(data)
}

// findBenchModule looks in dir and its parents for the bench module: a
// directory that is the module, or that has it as its bench subdirectory.
func findBenchModule(dir string) (string, error) {
	for d := dir; ; {
		if isBenchModule(d) {
			return d, nil
		}
		if b := filepath.Join(d, "bench"); isBenchModule(b) {
			return b, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("cannot find the bench module (bench/go.mod): run from inside the zerogc repository, or pass --dir")
		}
		d = parent
	}
}
