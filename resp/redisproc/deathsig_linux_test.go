package redisproc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary play a zerogc that starts a server and is
// then killed: with ZEROGC_REDISPROC_CHILD=1 it starts one, prints its PID
// and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("ZEROGC_REDISPROC_CHILD") == "1" {
		s, err := Start(context.Background())
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(s.PID())
		time.Sleep(time.Minute)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func TestServerDiesWithItsStarter(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found (CI=true: the real-server tests must run); apt-get install redis-server")
		}
		t.Skip("redis-server not found; install it with: apt-get install redis-server")
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "ZEROGC_REDISPROC_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the server's PID from the starter: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("the starter printed %q, not a PID", line)
	}
	if err := child.Process.Kill(); err != nil { // SIGKILL: no deferred Stop runs
		t.Fatal(err)
	}
	_ = child.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("redis-server %d still runs 5s after its starter was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
