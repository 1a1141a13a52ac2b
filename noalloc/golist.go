package noalloc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// pkgInfo is the part of "go list -json" the checker reads.
type pkgInfo struct {
	ImportPath string
	Name       string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	SFiles     []string
	Standard   bool
	DepOnly    bool
	Deps       []string
	Error      *struct{ Err string }
}

// debug, set by ZEROGC_CHECK_DEBUG=1, prints each go command run and its
// duration to standard error.
var debug = os.Getenv("ZEROGC_CHECK_DEBUG") == "1"

// goCmd runs the go command in dir and returns its standard output and
// standard error.
func goCmd(ctx context.Context, dir string, args ...string) (stdout, stderr []byte, err error) {
	if debug {
		start := time.Now()
		defer func() {
			fmt.Fprintf(os.Stderr, "zerogc check: %.2fs go %s\n", time.Since(start).Seconds(), strings.Join(args[:min(len(args), 12)], " "))
		}()
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// listPackages returns the packages matched by patterns and all their
// dependencies, as "go list -deps" orders them.
func listPackages(ctx context.Context, dir string, patterns []string) ([]*pkgInfo, error) {
	args := append([]string{"list", "-e", "-deps", "-json=ImportPath,Name,Dir,GoFiles,CgoFiles,SFiles,Standard,DepOnly,Deps,Error", "--"}, patterns...)
	out, stderr, err := goCmd(ctx, dir, args...)
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v\n%s", strings.Join(patterns, " "), err, stderr)
	}
	var pkgs []*pkgInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkgInfo)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %v", err)
		}
		if p.Error != nil && !p.DepOnly {
			return nil, fmt.Errorf("package %s: %s (fix the package or leave it out of the patterns)", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// compile makes the go command compile pkgs with -m=2 -S and returns what
// the compiler printed. The go command keeps that output in its build cache
// with the compiled package, so on an unchanged tree this costs no
// compilation. "go list -export" is used instead of "go build" because it
// compiles without linking main packages.
func compile(ctx context.Context, dir, overlay string, pkgs []string) ([]byte, error) {
	args := []string{"list", "-e", "-export", "-f", "{{if .Error}}{{.ImportPath}}: {{.Error}}{{end}}"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	for _, p := range pkgs {
		args = append(args, "-gcflags="+p+"=-m=2 -S")
	}
	args = append(args, "--")
	args = append(args, pkgs...)
	out, stderr, err := goCmd(ctx, dir, args...)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %v\n%s", strings.Join(pkgs, " "), err, tail(stderr))
	}
	if msg := strings.TrimSpace(string(out)); msg != "" {
		return nil, fmt.Errorf("compiling: %s", msg)
	}
	return stderr, nil
}

func tail(b []byte) []byte {
	const max = 4000
	if len(b) > max {
		return b[len(b)-max:]
	}
	return b
}

// exportFiles returns the export data file of each of pkgs as a normal
// build makes it (no extra flags): after "go build" or "go run" these are
// build-cache hits. The file is the whole object, code included.
func exportFiles(ctx context.Context, dir string, pkgs []string) (map[string]string, error) {
	args := append([]string{"list", "-e", "-export", "-f", "{{.ImportPath}}\t{{.Export}}\t{{if .Error}}{{.Error}}{{end}}", "--"}, pkgs...)
	out, stderr, err := goCmd(ctx, dir, args...)
	if err != nil {
		return nil, fmt.Errorf("go list -export: %v\n%s", err, tail(stderr))
	}
	files := map[string]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != 3 || f[2] != "" || f[1] == "" {
			return nil, fmt.Errorf("go list -export: %s", strings.TrimSpace(line))
		}
		files[f[0]] = f[1]
	}
	return files, nil
}
