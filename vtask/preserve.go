package vtask

import (
	"sync"
)

// Preserve returns a task with the same outcome that may be awaited, read and
// given continuations any number of times, by any number of goroutines: the
// counterpart of .NET's ValueTask.Preserve and AsTask. It consumes t. A task
// that carries its result is returned as it is; otherwise Preserve
// allocates the shared state, which the garbage collector reclaims: this is
// the one conversion of the package that allocates.
func (t Task[T]) Preserve() Task[T] {
	if t.IsImmediate() {
		return t
	}
	p := &preserved[T]{done: make(chan struct{})}
	err := t.OnCompleted(func(any) {
		v, err := t.Result()
		p.mu.Lock()
		p.value, p.err = v, err
		close(p.done)
		conts := p.conts
		p.conts = nil
		p.mu.Unlock()
		for _, c := range conts {
			c.fn(c.arg)
		}
	}, nil)
	if err != nil {
		return FromError[T](err)
	}
	return Task[T]{ref: p}
}

// preserved is the many-await source behind Preserve. Its token is 0.
type preserved[T any] struct {
	done  chan struct{} // closed once value and err are set
	mu    sync.Mutex
	value T
	err   error
	conts []job
}

func (p *preserved[T]) completed() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *preserved[T]) Status(token uint64) (Status, error) {
	if token != 0 {
		return Pending, ErrStale
	}
	if !p.completed() {
		return Pending, nil
	}
	return statusOf(p.err), nil
}

func (p *preserved[T]) OnCompleted(token uint64, fn func(any), arg any) error {
	if token != 0 {
		return ErrStale
	}
	if fn == nil {
		return ErrNilContinuation
	}
	p.mu.Lock()
	if !p.completed() {
		p.conts = append(p.conts, job{fn, arg})
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	fn(arg)
	return nil
}

func (p *preserved[T]) Result(token uint64) (T, error) {
	var zero T
	if token != 0 {
		return zero, ErrStale
	}
	if !p.completed() {
		return zero, ErrNotCompleted
	}
	return p.value, p.err
}
