//go:build linux

package fileio_test

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/fileio"
)

// envPlain, set to 1, makes this test binary run every io_uring Reader on
// the plain path (what kernels without direct descriptors get).
const envPlain = "FILEIO_TEST_URING_PLAIN"

// envNoInline, set to 1, makes this test binary's io_uring Readers send
// every ReadInto through the ring (no readInline), on the chain where the
// kernel has direct descriptors.
const envNoInline = "FILEIO_TEST_URING_NOINLINE"

// envDefer, set to 1, makes this test binary's io_uring Readers set up
// their rings with SINGLE_ISSUER and DEFER_TASKRUN (an internal switch,
// off by default).
const envDefer = "FILEIO_TEST_URING_DEFER"

// envRings, set to a number, makes this test binary's io_uring Readers
// spread their reads over that many rings by default (0: one per P, the
// default).
const envRings = "FILEIO_TEST_URING_RINGS"

// envInlineDeep, set to 0, turns off this test binary's inline reads at
// depth (one small read in inlineDeepEvery with inlineQuiet or more held),
// for benchmark runs against the default.
const envInlineDeep = "FILEIO_TEST_URING_INLINEDEEP"

// envSpin, set to n, makes the io_uring loops of the test binary yield n
// times when idle before they sleep (default 20), for benchmark runs.
const envSpin = "FILEIO_TEST_URING_SPIN"

func TestMain(m *testing.M) {
	if n, ok := envInt(envRings); ok {
		fileio.UseUringRings(n)
	}
	if os.Getenv(envPlain) == "1" {
		// Kernels without direct descriptors (before 6.8) include
		// those without RESOLVE_CACHED (before 5.12): the oldest get
		// neither.
		fileio.UseUringPlainPath()
		fileio.UseUringNoInline()
	}
	if os.Getenv(envNoInline) == "1" {
		fileio.UseUringNoInline()
	}
	if os.Getenv(envDefer) == "1" {
		fileio.UseUringDeferTaskrun()
	}
	if os.Getenv(envInlineDeep) == "0" {
		fileio.UseUringInlineDeep(false)
	}
	if n, ok := envInt(envSpin); ok {
		fileio.UseUringSpin(n)
	}
	os.Exit(m.Run())
}

// envInt returns the number the environment variable name is set to, if
// it is set; a value that is not a number stops the test binary.
func envInt(name string) (int, bool) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(name + ": " + err.Error())
	}
	return n, true
}

// TestUringPlainPathTable runs every test of the package again, in a child
// process (this binary) where the io_uring backend is forced onto the
// plain path: the fallback for kernels without direct descriptors must
// pass the same table. The child's TestUringDirectChoice checks that the
// switch took effect.
func TestUringPlainPathTable(t *testing.T) {
	childTable(t, envPlain, "the plain io_uring path", "TestUringDirectChoice", "TestContents", "TestIssue11_9_ReadIntoShortBuffer", "TestIssue11_8_EMFILE", "TestInlineChoice")
}

// TestUringNoInlineTable runs every test of the package again in a child
// process whose io_uring Readers never read inline (kernels with direct
// descriptors but where openat2 is refused, e.g. by seccomp): the ring
// alone must pass the same table.
func TestUringNoInlineTable(t *testing.T) {
	childTable(t, envNoInline, "io_uring without inline reads", "TestContents", "TestIssue11_9_ReadIntoShortBuffer", "TestInlineChoice")
}

// TestUringDeferTable runs every test of the package again in a child
// process whose io_uring rings have SINGLE_ISSUER and DEFER_TASKRUN, so
// that the switch stays correct while it is off by default.
func TestUringDeferTable(t *testing.T) {
	childTable(t, envDefer, "io_uring with DEFER_TASKRUN", "TestUringDeferChoice", "TestContents", "TestIssue11_9_ReadIntoShortBuffer", "TestInlineChoice")
}

// TestUringRingsTable runs every test of the package again in a child
// process whose io_uring Readers have one ring if this process's have
// several by default (one per P), else two: both the single ring (the
// default with one P) and several rings pass the same table.
func TestUringRingsTable(t *testing.T) {
	n := "1"
	if runtime.GOMAXPROCS(0) < 2 {
		n = "2"
	}
	childTableEnv(t, envRings, n, "io_uring with another ring count", "TestUringRingsChoice", "TestContents", "TestIssue11_9_ReadIntoShortBuffer", "TestInlineChoice")
}

func childTable(t *testing.T, env, what string, mustPass ...string) {
	childTableEnv(t, env, "1", what, mustPass...)
}

func childTableEnv(t *testing.T, env, val, what string, mustPass ...string) {
	_, rings := os.LookupEnv(envRings)
	if os.Getenv(envPlain) == "1" || os.Getenv(envNoInline) == "1" || os.Getenv(envDefer) == "1" || rings {
		t.Skip("this is a child run")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=.", "-test.skip=^TestUring(PlainPath|NoInline|Defer|Rings)Table$", "-test.count=1", "-test.v", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), env+"="+val)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the table on %s failed: %v\n%s", what, err, out)
	}
	for _, name := range mustPass {
		if !strings.Contains(string(out), "--- PASS: "+name) {
			t.Fatalf("the run on %s did not pass %s:\n%s", what, name, out)
		}
	}
}
