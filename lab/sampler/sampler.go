// Package sampler records a server process's memory over time: its resident
// set size from /proc, and, when the server is the lab's own, its Go heap,
// heap goal, collections and allocation totals from its runtime metrics.
package sampler

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/zerogc/zerogc/lab/server"
)

// Sample is one reading.
type Sample struct {
	// At is the time since the sampler started.
	At time.Duration `json:"at_ns"`
	// RSSBytes is the process's resident set size (VmRSS).
	RSSBytes uint64 `json:"rss_bytes"`
	// Requests is the number of requests finished when the sample was taken.
	Requests int64 `json:"requests"`
	// Processes is the number of processes whose RSS was summed, with
	// Options.Tree; 0 otherwise.
	Processes int `json:"processes,omitempty"`
	// Heap holds the runtime metrics; nil when the server is not ours.
	Heap *server.Metrics `json:"heap,omitempty"`
}

// Options configures a Sampler.
type Options struct {
	// PID is the process to watch.
	PID int
	// Tree sums the RSS of PID and all its descendants (a server made of a
	// master and worker processes), found anew at every sample; see
	// [ReadTreeRSS].
	Tree bool
	// Interval is the time between samples (required).
	Interval time.Duration
	// Heap reads the server's runtime metrics; nil for a server not ours.
	Heap HeapFunc
	// Progress returns the requests finished so far; may be nil.
	Progress func() int64
	// Wake, if not nil, makes the sampler take an extra sample at each
	// receive, so that a short run is sampled by its progress as well as
	// by the clock.
	Wake <-chan struct{}
}

// HeapFunc reads a server's runtime metrics.
type HeapFunc func() (server.Metrics, error)

// Sampler takes a Sample every interval until Stop.
type Sampler struct {
	o     Options
	start time.Time
	stop  chan struct{}
	done  chan struct{}

	mu      sync.Mutex
	samples []Sample
	err     error
}

// Start takes a first sample at once and then one every o.Interval (and
// one at each receive from o.Wake) until Stop.
func Start(o Options) (*Sampler, error) {
	if o.Interval <= 0 {
		return nil, fmt.Errorf("sampler: interval must be positive, got %v", o.Interval)
	}
	if err := CheckPID(o.PID); err != nil {
		return nil, err
	}
	s := &Sampler{o: o, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	s.take()
	go s.loop()
	return s, nil
}

func (s *Sampler) loop() {
	defer close(s.done)
	t := time.NewTicker(s.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.take()
		case <-s.o.Wake: // a nil channel never receives
			s.take()
		}
	}
}

func (s *Sampler) take() {
	sm := Sample{At: time.Since(s.start)}
	var rss uint64
	var err error
	if s.o.Tree {
		rss, sm.Processes, err = ReadTreeRSS(s.o.PID)
	} else {
		rss, err = ReadRSS(s.o.PID)
	}
	if err == nil {
		sm.RSSBytes = rss
		if s.o.Heap != nil {
			var m server.Metrics
			if m, err = s.o.Heap(); err == nil {
				sm.Heap = &m
			}
		}
	}
	if s.o.Progress != nil {
		sm.Requests = s.o.Progress()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.samples = append(s.samples, sm)
}

// Stop takes a last sample, stops the sampler and returns the samples, and
// the first error a sample met (the process exited, say), if any.
func (s *Sampler) Stop() ([]Sample, error) {
	close(s.stop)
	<-s.done
	s.take()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples, s.err
}

// CheckPID returns an error unless a process with this id exists and its
// memory can be read.
func CheckPID(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("sampler: bad process id %d", pid)
	}
	if _, err := ReadRSS(pid); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sampler: no process with id %d", pid)
		}
		return err
	}
	return nil
}

var vmRSS = []byte("VmRSS:")

// ReadRSS returns the resident set size of process pid from
// /proc/PID/status.
func ReadRSS(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseRSS(b)
}

func parseRSS(status []byte) (uint64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, vmRSS)
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("sampler: unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("sampler: unexpected VmRSS line %q", line)
		}
		return kb << 10, nil
	}
	return 0, errors.New("sampler: no VmRSS in /proc status: the process has exited (a zombie) or is a kernel thread")
}
