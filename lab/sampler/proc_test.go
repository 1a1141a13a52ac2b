package sampler

import (
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseListeners(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
`
	got := parseListeners([]byte(table), 8080)
	if len(got) != 1 || !got[4242] {
		t.Fatalf("listeners on 8080 = %v, want only inode 4242 (4343 is an established connection)", got)
	}
	if got := parseListeners([]byte(table), 80); len(got) != 1 || !got[4444] {
		t.Fatalf("listeners on 80 = %v", got)
	}
}

func TestParseStatPPID(t *testing.T) {
	for stat, want := range map[string]int{
		"42 (nginx) S 1 42 42 0 -1":            1,
		"43 (my (odd) name) R 42 43 43 0 -1 0": 42,
		"44 (a b c) S 7":                       7,
	} {
		if got, ok := parseStatPPID([]byte(stat)); !ok || got != want {
			t.Errorf("parseStatPPID(%q) = %d, %v; want %d", stat, got, ok, want)
		}
	}
	if _, ok := parseStatPPID([]byte("garbage")); ok {
		t.Error("garbage accepted")
	}
}

// The process tree of this test holds a child it starts, and the tree's RSS
// counts both processes.
func TestTreeAndTreeRSS(t *testing.T) {
	c := exec.Command("sleep", "30")
	if err := c.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	defer func() { _ = c.Process.Kill(); _ = c.Wait() }()
	tree := Tree(os.Getpid())
	if tree[0] != os.Getpid() || !slices.Contains(tree, c.Process.Pid) {
		t.Fatalf("Tree(self) = %v, want self first and child %d in it", tree, c.Process.Pid)
	}
	own, err := ReadRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	sum, n, err := ReadTreeRSS(os.Getpid())
	if err != nil || n < 2 || sum <= own {
		t.Fatalf("ReadTreeRSS = %d over %d processes, %v; own RSS %d", sum, n, err, own)
	}
}

func TestCheckListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if err := CheckListener(os.Getpid(), port); err != nil {
		t.Fatalf("own listener: %v", err)
	}
	c := exec.Command("sleep", "30")
	if err := c.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	defer func() { _ = c.Process.Kill(); _ = c.Wait() }()
	err = CheckListener(c.Process.Pid, port)
	if err == nil || !strings.Contains(err.Error(), "(sleep) does not listen on port "+strconv.Itoa(port)) ||
		!strings.Contains(err.Error(), "use --pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("a process without the listener: %v", err)
	}
	ln.Close()
	if err := CheckListener(os.Getpid(), port); err == nil || !strings.Contains(err.Error(), "nothing listens") {
		t.Fatalf("a closed port: %v", err)
	}
	if err := CheckListener(os.Getpid(), 70000); err == nil {
		t.Fatal("port 70000 accepted")
	}
}
