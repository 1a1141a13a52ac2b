package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/noalloc"
)

// chainCopy copies the noalloc package's small test module to a temporary
// directory.
func chainCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "noalloc", "testdata", "chain"))); err != nil {
		t.Fatal(err)
	}
	return dir
}

// editFile replaces the first old in the file at path with new.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(src, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"./...", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"-C", t.TempDir(), "./..."}, 1, "does not contain main module"},
		{[]string{"-C", "/nonexistent-zerogc-dir"}, 2, "-C /nonexistent-zerogc-dir: not a directory"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"check"}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("zerogc check %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

func TestCheckHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"//zerogc:noalloc", "//zerogc:allow", "-json", "Exit status"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestCheckBadDirective(t *testing.T) {
	dir := chainCopy(t)
	editFile(t, filepath.Join(dir, "helper", "helper.go"), "// Step does", "//zerogc:allow\n// Step does")
	var out, errb bytes.Buffer
	code := run([]string{"check", "-C", dir}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "helper.go:6: //zerogc:allow needs a reason") {
		t.Fatalf("exit %d, stderr %q; want 1 and the line of the reason-less allow", code, errb.String())
	}
}

// TestCheckExitStatus runs the command as CI does: 0 on the clean module,
// 1 with file:line, chain and reason once the callee in another package
// allocates, and the same verdict as JSON.
func TestCheckExitStatus(t *testing.T) {
	dir := chainCopy(t)
	t.Chdir(dir)
	var out, errb bytes.Buffer
	if code := run([]string{"check", "./..."}, &out, &errb); code != 0 {
		t.Fatalf("clean module: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "0 of 1 marked functions can allocate") {
		t.Errorf("clean module: summary missing:\n%s", out.String())
	}
	editFile(t, filepath.Join("helper", "helper.go"), "\treturn x\n", "\t_ = fmt.Sprint(x)\n\treturn x\n")
	out.Reset()
	errb.Reset()
	if code := run([]string{"check"}, &out, &errb); code != 1 {
		t.Fatalf("edited module: exit %d, want 1\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		"helper/helper.go:11: hot.Hot can allocate: runtime.convT64",
		"call chain: hot.Hot (hot/hot.go:16) → helper.Step (called at hot/hot.go:20)",
		"compiler: helper/helper.go:11:17: x escapes to heap (in Step)",
		"1 of 1 marked functions can allocate",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"check", "--json", "./..."}, &out, &errb); code != 1 {
		t.Fatalf("--json: exit %d, want 1", code)
	}
	var rep noalloc.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out.String())
	}
	if len(rep.Roots) != 1 || rep.Roots[0].OK() || rep.Roots[0].Findings[0].Pos != "helper/helper.go:11" {
		t.Errorf("--json report: %+v", rep.Roots)
	}
}
