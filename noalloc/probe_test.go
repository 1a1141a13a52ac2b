package noalloc

import (
	"context"
	"strings"
	"testing"
)

// TestProbeRefusesAToolchainWhoseAllocatorsItDoesNotKnow: with the
// allocators the compiler uses for new(T) taken out of the checker's list
// (as runtime.mallocgcTinySC2 was missing from it when go1.27 came), Check
// must fail with an error that names the probe functions it found clean,
// not report allocating code as proven.
func TestProbeRefusesAToolchainWhoseAllocatorsItDoesNotKnow(t *testing.T) {
	saved, savedPrefixes := allocators["runtime.newobject"], allocatorPrefixes["runtime.mallocgc"]
	delete(allocators, "runtime.newobject")
	delete(allocatorPrefixes, "runtime.mallocgc")
	probes = map[string]error{}
	defer func() {
		allocators["runtime.newobject"] = saved
		allocatorPrefixes["runtime.mallocgc"] = savedPrefixes
		probes = map[string]error{}
	}()
	_, err := Check(context.Background(), "testdata/chain", nil)
	if err == nil {
		t.Fatal("Check passed with the new-object allocators unknown to it")
	}
	for _, want := range []string{"cannot prove anything", "probe.NewInt", "probe.NewStruct", "probe.MovedToHeap"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "probe.MakeSlice") {
		t.Errorf("the error names a probe function the checker still sees allocate: %v", err)
	}
	t.Log(err)
}

// TestProbePassesTheToolchainInUse: with the checker's list as it is, the
// probe finds every allocation, on the toolchain the tests run with (CI
// runs this package on go1.26 and go1.27).
func TestProbePassesTheToolchainInUse(t *testing.T) {
	probes = map[string]error{}
	if err := probeToolchain(context.Background(), "testdata/chain"); err != nil {
		t.Fatal(err)
	}
}

// TestProbeKeepsNoVerdictOfAProbeThatCouldNotRun: a probe that could not
// be checked (here its context was canceled) is an error, not a verdict, so
// nothing is kept for the toolchain and the next check probes again.
func TestProbeKeepsNoVerdictOfAProbeThatCouldNotRun(t *testing.T) {
	probes = map[string]error{}
	defer func() { probes = map[string]error{} }()
	out, _, err := goCmd(context.Background(), "testdata/chain", "env", "GOVERSION")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(out))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	verdict, err := runProbe(ctx, version)
	if err == nil || verdict != nil {
		t.Fatalf("a probe with a canceled context: verdict %v, error %v; want no verdict and an error", verdict, err)
	}
	if _, ok := probes[version]; ok {
		t.Fatal("a verdict was kept for a probe that could not run")
	}
	if err := probeToolchain(context.Background(), "testdata/chain"); err != nil {
		t.Fatalf("the next probe: %v", err)
	}
	if v, ok := probes[version]; !ok || v != nil {
		t.Fatalf("after a passing probe the kept verdict is %v, %v", v, ok)
	}
}
