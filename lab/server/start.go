package server

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures a child server started by [Start].
type Options struct {
	Flavor Flavor
	GC     GCMode
	// Port is the loopback port to listen on; 0 picks a free one.
	Port int
	// Profile sets runtime.MemProfileRate to 1 in the child from its first
	// allocation on (GODEBUG=memprofilerate=1), for [Child.ProfileEnd].
	Profile bool
	// Stderr receives the child's standard error; nil discards it.
	Stderr io.Writer
	// ReadyTimeout bounds the wait for the child to listen; 0 means 15s.
	ReadyTimeout time.Duration
	// Redis, when set, is the address of the Redis server that the child
	// serves GET /api/values/{key} from (the Redis route).
	Redis string
	// Program is the program to run as the child; empty means the running
	// program (which calls [RunChildIfRequested]). A program of its own
	// must call [RunHTTPChildIfRequested] first thing in main.
	Program string
}

// Child is a running sample server in a process of its own.
type Child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// PID is the child's process id.
	PID int
	// Addr is the host:port the API listens on (loopback).
	Addr string
	// URL is the API's endpoint, http://Addr/api/values.
	URL string

	mu      sync.Mutex // serialises the control channel
	ctl     net.Conn
	ctlBuf  [metricsWireLen]byte
	stopped bool
	waitErr chan error
}

// Start re-executes the running program (or runs Options.Program) as the
// child server (see [RunChildIfRequested]) and waits until it listens. The
// child inherits the environment except GOGC, GOMEMLIMIT and GODEBUG,
// which Start sets from Options.
func Start(o Options) (*Child, error) {
	if _, err := ParseFlavor(string(o.Flavor)); err != nil {
		return nil, err
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, errorf("port %d out of range 0..65535", o.Port)
	}
	exe := o.Program
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, errorf("cannot find the running program to start the child server: %v", err)
		}
	}
	cmd := exec.Command(exe)
	env := []string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOGC", "GOMEMLIMIT", "GODEBUG", envFlavor, envAddr, envRedis:
			continue
		}
		env = append(env, kv)
	}
	env = append(env, o.GC.Env()...)
	env = append(env, envFlavor+"="+string(o.Flavor), envAddr+"=127.0.0.1:"+strconv.Itoa(o.Port))
	if o.Redis != "" {
		env = append(env, envRedis+"="+o.Redis)
	}
	if o.Profile {
		env = append(env, "GODEBUG=memprofilerate=1")
	}
	cmd.Env = env
	var stderrTail tailBuffer
	if o.Stderr != nil {
		cmd.Stderr = io.MultiWriter(o.Stderr, &stderrTail)
	} else {
		cmd.Stderr = &stderrTail
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, errorf("%v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errorf("%v", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, errorf("starting the child server: %v", err)
	}
	c := &Child{cmd: cmd, stdin: stdin, PID: cmd.Process.Pid, waitErr: make(chan error, 1)}

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		} else {
			close(lines)
		}
		_, _ = io.Copy(io.Discard, stdout)
		c.waitErr <- cmd.Wait()
	}()
	timeout := o.ReadyTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			err := <-c.waitErr
			return nil, errorf("the child server exited before it was ready (%v); does the program call server.RunChildIfRequested first thing? %s", err, stderrTail.String())
		}
		line = l
	case <-timer.C:
		c.kill()
		return nil, errorf("the child server did not report ready within %v", timeout)
	}
	if msg, ok := strings.CutPrefix(line, errorPrefix); ok {
		c.kill()
		if strings.Contains(msg, "address already in use") {
			return nil, errorf("port %d is in use (%s); choose another port, or 0 for any free one", o.Port, msg)
		}
		return nil, errorf("the child server failed: %s", msg)
	}
	rest, ok := strings.CutPrefix(line, readyPrefix)
	if !ok {
		c.kill()
		return nil, errorf("unexpected first line from the child server: %q", line)
	}
	var ctlAddr string
	for _, f := range strings.Fields(rest) {
		if v, ok := strings.CutPrefix(f, "http="); ok {
			c.Addr = v
		} else if v, ok := strings.CutPrefix(f, "ctl="); ok {
			ctlAddr = v
		}
	}
	c.URL = "http://" + c.Addr + ValuesPath
	c.ctl, err = net.DialTimeout("tcp", ctlAddr, 5*time.Second)
	if err != nil {
		c.kill()
		return nil, errorf("connecting to the child's control channel: %v", err)
	}
	return c, nil
}

// Metrics reads the child's runtime metrics. The child allocates nothing to
// answer.
func (c *Child) Metrics() (Metrics, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.command(cmdMetrics); err != nil {
		return Metrics{}, err
	}
	if _, err := io.ReadFull(c.ctl, c.ctlBuf[:]); err != nil {
		return Metrics{}, errorf("reading metrics from the child: %v", err)
	}
	return decodeMetrics(c.ctlBuf[:]), nil
}

// ProfileBegin takes the heap profile that ProfileEnd compares against. The
// child must have been started with Options.Profile.
func (c *Child) ProfileBegin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.command(cmdProfileBegin); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(c.ctl, b[:]); err != nil {
		return errorf("reading the profile reply from the child: %v", err)
	}
	if b[0] != 'k' {
		return errorf("the child server was not started with profiling (Options.Profile)")
	}
	return nil
}

// ProfileEnd takes a second heap profile and returns the allocations made
// since ProfileBegin, the control channel's own left out.
func (c *Child) ProfileEnd() (*Profile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.command(cmdProfileEnd); err != nil {
		return nil, err
	}
	var n [4]byte
	if _, err := io.ReadFull(c.ctl, n[:]); err != nil {
		return nil, errorf("reading the profile from the child: %v", err)
	}
	js := make([]byte, binary.LittleEndian.Uint32(n[:]))
	if _, err := io.ReadFull(c.ctl, js); err != nil {
		return nil, errorf("reading the profile from the child: %v", err)
	}
	p := &Profile{}
	if err := json.Unmarshal(js, p); err != nil {
		return nil, errorf("decoding the profile: %v", err)
	}
	return p, nil
}

func (c *Child) command(cmd byte) error {
	if c.stopped {
		return errorf("the child server was stopped")
	}
	_ = c.ctl.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.ctl.Write([]byte{cmd}); err != nil {
		return errorf("writing to the child's control channel: %v", err)
	}
	return nil
}

// Stop ends the child: it closes its standard input, which makes it exit,
// and kills it if it has not exited within 5 seconds.
func (c *Child) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	c.mu.Unlock()
	if c.ctl != nil {
		c.ctl.Close()
	}
	c.stdin.Close()
	select {
	case err := <-c.waitErr:
		return exitErr(err)
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.waitErr
		return errorf("the child server did not exit when asked and was killed")
	}
}

func (c *Child) kill() {
	c.stopped = true
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	c.stdin.Close()
}

func exitErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return errorf("the child server exited with %v", ee)
	}
	return err
}

// tailBuffer keeps the last 2 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2048 {
		t.b = t.b[len(t.b)-2048:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(t.b))
	if s == "" {
		return ""
	}
	return fmt.Sprintf("(child stderr: %s)", s)
}
