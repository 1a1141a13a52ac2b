package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTuneBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"--memory", "1"}, 2, "--memory must be at least 16"},
		{[]string{"--timeout", "0s"}, 2, "--timeout must be positive"},
		{[]string{"--procs", "3"}, 2, "--procs must be at least 16"},
		{[]string{"--timeout", "soon"}, 2, "invalid value"},
		{[]string{"--addr", "0.0.0.0:0"}, 1, "not a loopback address"},
		{[]string{"--addr", "nonsense"}, 1, "give host:port"},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"tune"}, tc.args...), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("zerogc tune %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, errb.String(), tc.code, tc.want)
		}
	}
}

// startTune runs zerogc tune with args until ctx ends, and returns the
// first line it printed (the address to open) and the channel its result
// arrives on.
func startTune(t *testing.T, ctx context.Context, args ...string) (string, <-chan error) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serveTune(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	return line, done
}

// TestTuneServes starts the command, follows the URL it prints, and stops
// it as Ctrl+C would.
func TestTuneServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	line, done := startTune(t, ctx, "--addr", "127.0.0.1:0")
	url := strings.TrimSpace(strings.TrimPrefix(line, "zerogc tune: open "))
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(url, "/#token=") {
		t.Fatalf("printed %q", line)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("zerogc tune")) {
		t.Errorf("page: status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveTune: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("zerogc tune did not stop")
	}
}

// TestTuneIssue12_CtrlCStopsTheRun: Ctrl+C while a snippet runs stops it at
// once, and the command exits cleanly instead of waiting for the run and
// reporting "context deadline exceeded".
func TestTuneIssue12_CtrlCStopsTheRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	line, done := startTune(t, ctx, "--addr", "127.0.0.1:0", "--timeout", "1m")
	url := strings.TrimSpace(strings.TrimPrefix(line, "zerogc tune: open "))
	root, token, ok := strings.Cut(url, "/#token=")
	if !ok {
		t.Fatalf("printed %q: want the token in the fragment", line)
	}
	body, _ := json.Marshal(map[string]string{"code": "package main\n\nfunc Spin(s string) int {\n\tfor {\n\t}\n}\n"})
	req, _ := http.NewRequest("POST", root+"/api/run", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Tune-Token", token)
	answered := make(chan string, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- string(b)
	}()
	// Wait for the child to run (the build comes first), then press Ctrl+C.
	deadline := time.Now().Add(90 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("the snippet never started")
		}
		select {
		case a := <-answered:
			t.Fatalf("the run ended before the test saw the snippet start: %.500s", a)
		default:
		}
		if n := countProcessesNamed("snippet.bin"); n > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveTune after Ctrl+C: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("zerogc tune did not stop")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Ctrl+C took %v to stop the run", d)
	}
	if a := <-answered; !strings.Contains(a, "stopped") && !strings.HasPrefix(a, "error: ") {
		t.Errorf("the run's answer: %.300s", a)
	}
}

// countProcessesNamed counts the processes whose executable is called name.
func countProcessesNamed(name string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err == nil && filepath.Base(exe) == name {
			n++
		}
	}
	return n
}
