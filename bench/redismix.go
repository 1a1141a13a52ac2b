package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"
)

// MixWorkers is the number of goroutines of the mixed workloads.
const MixWorkers = 64

// MixSetPercent is the share of SETs in the mixed workloads; the rest are
// GETs.
const MixSetPercent = 20

// DeadlinePercent is the share of calls given a short deadline in the
// deadline workload, and DeadlineTimeout that deadline: shorter than a
// reply takes when 64 goroutines share two cores with the server.
const (
	DeadlinePercent = 10
	DeadlineTimeout = 50 * time.Microsecond
)

// MixOp is one call of a mixed workload: a key, and whether it is a SET and
// whether it gets a deadline.
type MixOp uint32

const (
	mixSet      MixOp = 1 << 16
	mixDeadline MixOp = 1 << 17
)

// Key returns the op's key index.
func (op MixOp) Key() int { return int(op & 0xffff) }

// IsSet reports whether the op is a SET (else a GET).
func (op MixOp) IsSet() bool { return op&mixSet != 0 }

// HasDeadline reports whether the op is given a DeadlineTimeout deadline.
func (op MixOp) HasDeadline() bool { return op&mixDeadline != 0 }

// MixOps returns the n ops of one worker, drawn from a generator seeded
// with seed, so that every contender runs the same calls: random keys,
// MixSetPercent SETs, and deadlinePercent of the calls with a deadline.
func MixOps(seed uint64, n, deadlinePercent int) []MixOp {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	ops := make([]MixOp, n)
	for i := range ops {
		op := MixOp(r.IntN(RedisKeys))
		if r.IntN(100) < MixSetPercent {
			op |= mixSet
		}
		if r.IntN(100) < deadlinePercent {
			op |= mixDeadline
		}
		ops[i] = op
	}
	return ops
}

// MixStats is what a phase of a Crew measured.
type MixStats struct {
	Calls         int
	DeadlineCalls int   // calls given a deadline
	DeadlineHits  int   // of those, calls that ended with a deadline error
	Failed        int   // calls that ended with another error (counted only when lenient)
	FirstFailure  error // the first of those
	Latency       Hist  // every call
}

// Crew is MixWorkers goroutines, each with its own session, started once
// and then given phase after phase of ops, so that starting goroutines is
// no part of the timed loop.
type Crew struct {
	workers []*mixWorker
	phaseWG sync.WaitGroup
	exitWG  sync.WaitGroup
	lenient bool
}

type mixWorker struct {
	sess    RedisSession
	dl      *DeadlineSource
	ops     chan []MixOp
	lenient bool
	stats   MixStats
	err     error // a wrong value, or (not lenient) any error: the phase is broken
}

// NewCrew starts one worker per element of deadlineCalls, each with a
// session of client and room for deadlineCalls[i] deadline contexts. When
// lenient is set, an error other than a deadline error is counted in
// MixStats.Failed instead of ending the phase (a wrong value always ends
// it).
func NewCrew(client RedisClient, deadlineCalls []int, lenient bool) *Crew {
	cr := &Crew{lenient: lenient}
	for _, n := range deadlineCalls {
		w := &mixWorker{
			sess:    client.NewSession(),
			dl:      NewDeadlineSource(n, DeadlineTimeout),
			ops:     make(chan []MixOp),
			lenient: lenient,
		}
		cr.workers = append(cr.workers, w)
		cr.exitWG.Add(1)
		go func() {
			defer cr.exitWG.Done()
			for ops := range w.ops {
				w.run(ops)
				cr.phaseWG.Done()
			}
		}()
	}
	return cr
}

// Phase gives worker i the ops perWorker[i], waits until every worker is
// done, and returns what they measured, or the first broken call.
func (cr *Crew) Phase(perWorker [][]MixOp) (MixStats, error) {
	cr.phaseWG.Add(len(cr.workers))
	for i, w := range cr.workers {
		w.stats = MixStats{}
		w.err = nil
		w.ops <- perWorker[i]
	}
	cr.phaseWG.Wait()
	var total MixStats
	for _, w := range cr.workers {
		if w.err != nil {
			return total, w.err
		}
		s := &w.stats
		total.Calls += s.Calls
		total.DeadlineCalls += s.DeadlineCalls
		total.DeadlineHits += s.DeadlineHits
		total.Failed += s.Failed
		if total.FirstFailure == nil {
			total.FirstFailure = s.FirstFailure
		}
		total.Latency.Merge(&s.Latency)
	}
	return total, nil
}

// Stop ends every worker and its deadline source, and waits for them.
func (cr *Crew) Stop() {
	for _, w := range cr.workers {
		close(w.ops)
	}
	cr.exitWG.Wait()
	for _, w := range cr.workers {
		w.dl.Close()
	}
}

func (w *mixWorker) run(ops []MixOp) {
	for _, op := range ops {
		ctx := context.Background()
		if op.HasDeadline() {
			ctx = w.dl.Arm()
			w.stats.DeadlineCalls++
		}
		t0 := time.Now()
		var err error
		if op.IsSet() {
			err = w.sess.Set(ctx, op.Key())
		} else {
			err = w.sess.Get(ctx, op.Key())
		}
		w.stats.Latency.Record(time.Since(t0))
		if op.HasDeadline() {
			w.dl.Disarm()
		}
		w.stats.Calls++
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, ErrWrongValue):
			w.err = err
			return
		case op.HasDeadline() && IsDeadlineError(err):
			w.stats.DeadlineHits++
		case w.lenient:
			w.stats.Failed++
			if w.stats.FirstFailure == nil {
				w.stats.FirstFailure = err
			}
		default:
			w.err = fmt.Errorf("%s of key %s: %w", opName(op), RedisKey(op.Key()), err)
			return
		}
	}
}

func opName(op MixOp) string {
	if op.IsSet() {
		return "SET"
	}
	return "GET"
}

// IsDeadlineError reports whether err says a deadline passed: the
// context's (context.DeadlineExceeded) or a socket deadline set from it
// (os.ErrDeadlineExceeded, as go-redis reports with ContextTimeoutEnabled).
func IsDeadlineError(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)
}

// SplitOps divides n calls among workers as evenly as possible and draws
// each worker's ops with seed base+i; it also returns how many of each
// worker's ops have a deadline.
func SplitOps(base uint64, n, workers, deadlinePercent int) (ops [][]MixOp, deadlines []int) {
	ops = make([][]MixOp, workers)
	deadlines = make([]int, workers)
	for i := range workers {
		k := n / workers
		if i < n%workers {
			k++
		}
		ops[i] = MixOps(base+uint64(i), k, deadlinePercent)
		for _, op := range ops[i] {
			if op.HasDeadline() {
				deadlines[i]++
			}
		}
	}
	return ops, deadlines
}

// SettledGoroutines returns runtime.NumGoroutine once it has stayed the same
// for 50 ms (at most 2 s), so that goroutines on their way out are not
// counted.
func SettledGoroutines() int {
	n, stable := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(2 * time.Second); stable < 10 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			stable++
		} else {
			n, stable = m, 0
		}
	}
	return n
}
