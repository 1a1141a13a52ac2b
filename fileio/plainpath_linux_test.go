//go:build linux

package fileio_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/fileio"
)

// envPlain, set to 1, makes this test binary run every io_uring Reader on
// the plain path (what kernels without direct descriptors get).
const envPlain = "FILEIO_TEST_URING_PLAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envPlain) == "1" {
		fileio.UseUringPlainPath()
	}
	os.Exit(m.Run())
}

// TestUringPlainPathTable runs every test of the package again, in a child
// process (this binary) where the io_uring backend is forced onto the
// plain path: the fallback for kernels without direct descriptors must
// pass the same table. The child's TestUringDirectChoice checks that the
// switch took effect.
func TestUringPlainPathTable(t *testing.T) {
	if os.Getenv(envPlain) == "1" {
		t.Skip("this is the plain-path run")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=.", "-test.skip=^TestUringPlainPathTable$", "-test.count=1", "-test.v", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), envPlain+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the table on the plain io_uring path failed: %v\n%s", err, out)
	}
	for _, name := range []string{"TestUringDirectChoice", "TestContents", "TestIssue11_9_ReadIntoShortBuffer", "TestIssue11_8_EMFILE"} {
		if !strings.Contains(string(out), "--- PASS: "+name) {
			t.Fatalf("plain-path run did not pass %s:\n%s", name, out)
		}
	}
}
