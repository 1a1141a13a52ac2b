package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBenchModule(t *testing.T) {
	root := t.TempDir()
	bench := filepath.Join(root, "bench")
	deep := filepath.Join(root, "a", "b")
	for _, d := range []string{bench, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bench, "go.mod"), []byte("module github.com/zerogc/zerogc/bench\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{root, deep, bench} {
		got, err := findBenchModule(from)
		if err != nil || got != bench {
			t.Errorf("findBenchModule(%s) = %q, %v; want %q", from, got, err, bench)
		}
	}
	if _, err := findBenchModule(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--dir") {
		t.Errorf("outside the repository: err = %v; want advice to pass --dir", err)
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--count=0"},
		{"--dir", t.TempDir()},
		{"--nosuchflag"},
	} {
		var stderr bytes.Buffer
		err := runBench(args, &bytes.Buffer{}, &stderr)
		if !errors.Is(err, errUsage) {
			t.Errorf("bench %v: err = %v; want a usage error", args, err)
		}
	}
}

// TestBenchFindsThisRepository runs from the package directory, inside the
// repository, where the real bench module must be found.
func TestBenchFindsThisRepository(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	got, err := findBenchModule(wd)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(got) != "bench" {
		t.Errorf("found %s; want the repository's bench directory", got)
	}
}
