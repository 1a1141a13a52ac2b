package walkthrough_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/fileio"
	"github.com/zerogc/zerogc/fileio/walkthrough"
)

func TestRun(t *testing.T) {
	for _, b := range []fileio.Backend{fileio.Uring, fileio.Workers} {
		t.Run(b.String(), func(t *testing.T) {
			if r, err := fileio.New(fileio.WithBackend(b)); err != nil {
				t.Skip(err)
			} else {
				r.Close()
			}
			var out bytes.Buffer
			if err := walkthrough.Run(&out, walkthrough.Options{Backend: b, Runs: 20}); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			s := out.String()
			for _, want := range []string{
				"backend: " + b.String(),
				"rent: pool empty, new op #0",
				"rent: pool hit",
				"status polled: Pending",
				"continuation registered",
				"already complete",
				"version bump",
				"returned to the pool",
				"vtask: stale",
				"answered from the cache",
				"fs.ErrNotExist) = true",
				"op consumed its own result and went back to the pool",
				"| asynchronous (" + b.String() + ") | ReadInto(ctx, path, buf) + Await | yes |",
			} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q:\n%s", want, s)
				}
			}
		})
	}
}

func TestQuiet(t *testing.T) {
	var out bytes.Buffer
	if err := walkthrough.Run(&out, walkthrough.Options{Quiet: true, Backend: fileio.Workers, Runs: 10}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "[fileio]") || !strings.Contains(out.String(), "| path |") {
		t.Fatalf("quiet output should be the table only:\n%s", out.String())
	}
}

func TestBadFile(t *testing.T) {
	err := walkthrough.Run(&bytes.Buffer{}, walkthrough.Options{File: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory as --file: %v", err)
	}
}
