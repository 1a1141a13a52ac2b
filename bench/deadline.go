package bench

import (
	"context"
	"sync/atomic"
	"time"
)

// DeadlineCtx is a context.Context with a deadline, as context.WithTimeout
// makes, but built ahead by a DeadlineSource so that giving a call a
// deadline allocates nothing inside the timed loop: the allocation columns
// of the deadline workload are then the client's alone. Its Done channel is
// closed, and Err becomes context.DeadlineExceeded, once the deadline has
// passed (by the source's timer).
type DeadlineCtx struct {
	deadline time.Time
	done     chan struct{}
	// expired goes false -> true once, by the CAS in expire; the goroutine
	// that wins it closes done, so done is closed exactly once.
	expired atomic.Bool
}

// Deadline returns the deadline set when the context was armed.
func (c *DeadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done returns a channel closed when the deadline has passed.
func (c *DeadlineCtx) Done() <-chan struct{} { return c.done }

// Err returns context.DeadlineExceeded once the deadline has passed, nil
// before.
func (c *DeadlineCtx) Err() error {
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// Value returns nil: the context carries no values.
func (c *DeadlineCtx) Value(any) any { return nil }

func (c *DeadlineCtx) expire() {
	if c.expired.CompareAndSwap(false, true) {
		close(c.done)
	}
}

// DeadlineSource hands out DeadlineCtx values with a fixed timeout to one
// goroutine, one call at a time: Arm before the call, Disarm after it. It
// holds every context it will hand out (made by NewDeadlineSource), one
// reused timer and one goroutine that expires the armed context when the
// timer fires, so arming allocates nothing and an expiry starts no goroutine
// (time.AfterFunc, and so context.WithTimeout, start one per expiry): the
// goroutines a benchmark sees started are the client's.
type DeadlineSource struct {
	timeout time.Duration
	ctxs    []DeadlineCtx
	next    int
	// cur is the context armed last. The timer's function expires it only
	// if its deadline has passed, so a firing left over from an earlier Arm
	// never expires a later context early.
	cur   atomic.Pointer[DeadlineCtx]
	timer *time.Timer
	quit  chan struct{}
	done  chan struct{} // closed when the expiring goroutine has returned
}

// NewDeadlineSource prepares n contexts with the given timeout. Arming more
// than n allocates one more context each time.
func NewDeadlineSource(n int, timeout time.Duration) *DeadlineSource {
	s := &DeadlineSource{timeout: timeout, ctxs: make([]DeadlineCtx, n)}
	for i := range s.ctxs {
		s.ctxs[i].done = make(chan struct{})
	}
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	s.quit = make(chan struct{})
	s.done = make(chan struct{})
	go s.expireLoop()
	return s
}

// expireLoop expires the armed context each time the timer fires. Since Go
// 1.23 a Stop or Reset discards a pending firing, so each firing belongs to
// the latest Arm, or to one whose call has just returned (fire checks the
// deadline for that case).
func (s *DeadlineSource) expireLoop() {
	defer close(s.done)
	for {
		select {
		case <-s.timer.C:
			s.fire()
		case <-s.quit:
			return
		}
	}
}

// Arm returns a fresh context whose deadline is the timeout from now.
func (s *DeadlineSource) Arm() context.Context {
	var c *DeadlineCtx
	if s.next < len(s.ctxs) {
		c = &s.ctxs[s.next]
		s.next++
	} else {
		c = &DeadlineCtx{done: make(chan struct{})}
	}
	c.deadline = time.Now().Add(s.timeout)
	s.cur.Store(c)
	s.timer.Reset(s.timeout)
	return c
}

// Disarm stops the timer after the call armed last has returned; its
// context stays as it is (expired or not), as after a cancel.
func (s *DeadlineSource) Disarm() { s.timer.Stop() }

// Close stops the timer and its goroutine, and waits for it to return.
func (s *DeadlineSource) Close() {
	s.timer.Stop()
	close(s.quit)
	<-s.done
}

func (s *DeadlineSource) fire() {
	c := s.cur.Load()
	if c == nil || time.Now().Before(c.deadline) {
		return
	}
	c.expire()
}
