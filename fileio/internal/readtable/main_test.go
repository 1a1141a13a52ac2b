package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = "../../testdata/bench-read-2026-12-03.txt"

// TestTableFromRun checks the table of a committed run against the
// figures docs/fileio.md shows for it (worked out from the same lines by
// a separate script when the run was made).
func TestTableFromRun(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{sample}, nil, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2+12 {
		t.Fatalf("%d lines, want a header, a rule and 12 rows:\n%s", len(lines), out.String())
	}
	for _, want := range []string{
		"| 4 KiB × 1,024 | 1.98 µs ± 12% | 2.3 µs ± 8% | **0.86** | 3.67 µs / 4.24 µs (0.86) |",
		"| cold 1 MiB × 64 | 766 µs ± 6% | 845 µs ± 12% | **0.91** |",
		"| 0, 0 |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasPrefix(lines[2], "| 4 KiB × 1 |") || !strings.HasPrefix(lines[13], "| cold 1 MiB × 1,024 |") {
		t.Errorf("rows out of the benchmark's order: first %q, last %q", lines[2], lines[13])
	}
}

func TestJSONAndSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "r.svg")
	var out, errb bytes.Buffer
	if err := run([]string{"-json", "-svg", svg, sample}, nil, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	var rows []summary
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 12 || rows[2].Row != "4 KiB × 1,024" || rows[2].Runs != 6 || rows[2].CPURatio == nil {
		t.Fatalf("rows: %+v", rows)
	}
	if got := rows[2].TimeRatio; got < 0.855 || got > 0.865 {
		t.Errorf("4 KiB × 1,024 time ratio %.4f, want 0.86", got)
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		XMLName xml.Name
		Rects   []struct{} `xml:"rect"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil || doc.XMLName.Local != "svg" {
		t.Fatalf("not an SVG document: %v", err)
	}
	// background, two legend boxes, two bars per row
	if len(doc.Rects) != 3+2*12 {
		t.Errorf("%d rects, want %d", len(doc.Rects), 3+2*12)
	}
}

// TestOlderOutput: a run from before the cpu and blocked metrics gets its
// table with dashes there, and one bar per row.
func TestOlderOutput(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run([]string{"../../testdata/bench-read-2026-12-02-session23.txt"}, nil, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	if !strings.Contains(out.String(), "| 4 KiB × 1,024 |") || !strings.Contains(out.String(), "| **0.81** | — |") {
		t.Errorf("older run's table:\n%s", out.String())
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no results", nil, "goos: linux\nPASS\n", "holds no BenchmarkRead results"},
		{"missing file", []string{"no-such-file.txt"}, "", "no-such-file.txt"},
		{"two files", []string{"a", "b"}, "", "one input file at most"},
		{"bad value", nil, "BenchmarkRead/4KiB/inflight=1/uring-2 10 x ns/op\n", `value "x" of ns/op`},
		{"unknown flag", []string{"-nope"}, "", "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(tc.args, strings.NewReader(tc.stdin), &out, &errb)
			if err == nil {
				t.Fatalf("no error; output %q", out.String())
			}
			if msg := err.Error() + errb.String(); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to say %q", msg, tc.want)
			}
		})
	}
}
