// Command readtable turns the output of fileio's BenchmarkRead into the
// table the project's documents show: per row (size, reads in flight, warm
// or cold), the median time per read of each backend, io_uring's time over
// the workers', the same for CPU per read, the OS threads each occupies,
// and the allocations per read. With -svg it also draws the two ratios as
// a bar chart.
//
//	go test -run='^$' -bench='Read$' -benchmem -count=6 ./fileio > read.txt
//	go run ./fileio/internal/readtable read.txt
//	go run ./fileio/internal/readtable -svg ratios.svg read.txt
//
// Medians are over the runs (-count) of each leaf; ± is the largest
// deviation of a run from the median. Output of older runs without the
// cpu-ns/op or blocked-threads-mean metrics shows "—" in those columns.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "readtable:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("readtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	svgPath := fs.String("svg", "", "also write the uring / workers ratios of time and CPU per read as an SVG bar chart to this file")
	asJSON := fs.Bool("json", false, "print the rows as JSON instead of a Markdown table")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./fileio/internal/readtable [flags] [FILE]")
		fmt.Fprintln(stderr, "\nReads the output of")
		fmt.Fprintln(stderr, "  go test -run='^$' -bench='Read$' -benchmem -count=6 ./fileio")
		fmt.Fprintln(stderr, "from FILE (or standard input without one, or with -) and prints its table.")
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("one input file at most, got %d: %q", fs.NArg(), fs.Args())
	}
	in, name := stdin, "standard input"
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in, name = f, fs.Arg(0)
	}
	rows, err := parse(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s holds no BenchmarkRead results with both a uring and a workers leaf; make one with: go test -run='^$' -bench='Read$' -benchmem -count=6 ./fileio > read.txt", name)
	}
	if *svgPath != "" {
		if err := os.WriteFile(*svgPath, chart(rows), 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(summaries(rows))
	}
	_, err = io.WriteString(stdout, markdown(rows))
	return err
}

// A row is one size × in-flight × warm/cold combination, with the samples
// of each of its leaves (uring, workers, os-readfile) by metric unit.
type row struct {
	name   string
	leaves map[string]map[string][]float64
}

// benchLine matches a result line of BenchmarkRead: its row, its leaf, and
// the metrics after the iteration count.
var benchLine = regexp.MustCompile(`^BenchmarkRead/(\S+)/(uring|workers|os-readfile)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads benchmark output and returns its rows in the order they
// first appear, keeping those that have both a uring and a workers leaf.
func parse(r io.Reader) ([]*row, error) {
	byName := map[string]*row{}
	var order []*row
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		rw := byName[m[1]]
		if rw == nil {
			rw = &row{name: m[1], leaves: map[string]map[string][]float64{}}
			byName[m[1]] = rw
			order = append(order, rw)
		}
		leaf := rw.leaves[m[2]]
		if leaf == nil {
			leaf = map[string][]float64{}
			rw.leaves[m[2]] = leaf
		}
		f := strings.Fields(m[3])
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("result line with an odd number of value/unit fields: %q", sc.Text())
		}
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("value %q of %s in %q: %v", f[i], f[i+1], sc.Text(), err)
			}
			leaf[f[i+1]] = append(leaf[f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var rows []*row
	for _, rw := range order {
		if rw.leaves["uring"]["ns/op"] != nil && rw.leaves["workers"]["ns/op"] != nil {
			rows = append(rows, rw)
		}
	}
	return rows, nil
}

// median returns the median of v and the largest deviation of a value
// from it as a fraction of it; ok is false when v is empty.
func median(v []float64) (med, dev float64, ok bool) {
	if len(v) == 0 {
		return 0, 0, false
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	for _, x := range s {
		if med != 0 {
			dev = math.Max(dev, math.Abs(x-med)/med)
		}
	}
	return med, dev, true
}

func (rw *row) med(leaf, unit string) (float64, bool) {
	m, _, ok := median(rw.leaves[leaf][unit])
	return m, ok
}

// ratio is io_uring's median over the workers' for unit.
func (rw *row) ratio(unit string) (float64, bool) {
	u, ok1 := rw.med("uring", unit)
	w, ok2 := rw.med("workers", unit)
	if !ok1 || !ok2 || w == 0 {
		return 0, false
	}
	return u / w, true
}

// label turns "cold-4KiB/inflight=1024" into "cold 4 KiB × 1,024".
func label(name string) string {
	cold := strings.HasPrefix(name, "cold-")
	name = strings.TrimPrefix(name, "cold-")
	size, inflight, _ := strings.Cut(name, "/inflight=")
	size = strings.Replace(strings.Replace(size, "KiB", " KiB", 1), "MiB", " MiB", 1)
	if n, err := strconv.Atoi(inflight); err == nil && n >= 1000 {
		inflight = fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	s := size + " × " + inflight
	if cold {
		s = "cold " + s
	}
	return s
}

// duration formats nanoseconds with three significant digits.
func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return trim(ns/1e6) + " ms"
	case ns >= 1e3:
		return trim(ns/1e3) + " µs"
	}
	return trim(ns) + " ns"
}

func trim(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func markdown(rows []*row) string {
	var b strings.Builder
	b.WriteString("| row | uring | workers | uring / workers | CPU per read uring / workers | os-readfile | busy threads peak uring / workers | mean busy uring / workers | mean blocked (D) uring / workers | allocs/read uring, workers |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	dash := "—"
	for _, rw := range rows {
		timeCell := func(leaf string) string {
			m, dev, ok := median(rw.leaves[leaf]["ns/op"])
			if !ok {
				return dash
			}
			return fmt.Sprintf("%s ± %.0f%%", duration(m), dev*100)
		}
		pair := func(unit string, format func(float64) string) string {
			u, ok1 := rw.med("uring", unit)
			w, ok2 := rw.med("workers", unit)
			if !ok1 || !ok2 {
				return dash
			}
			return format(u) + " / " + format(w)
		}
		num := func(verb string) func(float64) string {
			return func(v float64) string { return fmt.Sprintf(verb, v) }
		}
		ratio, _ := rw.ratio("ns/op")
		cpu := pair("cpu-ns/op", duration)
		if r, ok := rw.ratio("cpu-ns/op"); ok {
			cpu += fmt.Sprintf(" (%.2f)", r)
		}
		osRead := dash
		if m, ok := rw.med("os-readfile", "ns/op"); ok {
			osRead = duration(m)
		}
		allocs := dash
		ua, ok1 := rw.leaves["uring"]["allocs/op"]
		wa, ok2 := rw.leaves["workers"]["allocs/op"]
		if ok1 && ok2 {
			allocs = fmt.Sprintf("%g, %g", maxOf(ua), maxOf(wa))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | **%.2f** | %s | %s | %s | %s | %s | %s |\n",
			label(rw.name), timeCell("uring"), timeCell("workers"), ratio, cpu, osRead,
			pair("busy-threads", num("%g")), pair("busy-threads-mean", num("%.2f")), pair("blocked-threads-mean", num("%.2f")), allocs)
	}
	return b.String()
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

// summary is a row as -json prints it: medians, and the ratios of
// io_uring over the workers. Absent metrics are left out.
type summary struct {
	Row          string             `json:"row"`
	Runs         int                `json:"runs"`
	TimeRatio    float64            `json:"time_ratio"`
	CPURatio     *float64           `json:"cpu_ratio,omitempty"`
	Uring        map[string]float64 `json:"uring"`
	Workers      map[string]float64 `json:"workers"`
	OSReadFileNs *float64           `json:"os_readfile_ns_per_op,omitempty"`
}

func summaries(rows []*row) []summary {
	var out []summary
	for _, rw := range rows {
		s := summary{Row: label(rw.name), Runs: len(rw.leaves["uring"]["ns/op"]), Uring: map[string]float64{}, Workers: map[string]float64{}}
		s.TimeRatio, _ = rw.ratio("ns/op")
		if r, ok := rw.ratio("cpu-ns/op"); ok {
			s.CPURatio = &r
		}
		for leaf, dst := range map[string]map[string]float64{"uring": s.Uring, "workers": s.Workers} {
			for unit := range rw.leaves[leaf] {
				m, _ := rw.med(leaf, unit)
				dst[unit] = m
			}
		}
		if m, ok := rw.med("os-readfile", "ns/op"); ok {
			s.OSReadFileNs = &m
		}
		out = append(out, s)
	}
	return out
}
