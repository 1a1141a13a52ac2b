package pool

import (
	"fmt"
	"runtime"
	"sync"
)

// tracker records the objects a debug-mode pool has handed out.
type tracker[T any] struct {
	mu  sync.Mutex
	out map[*T]string // rented object -> stack of the Get that rented it
}

func newTracker[T any]() *tracker[T] { return &tracker[T]{out: make(map[*T]string)} }

func (t *tracker[T]) rented(x *T) {
	buf := make([]byte, 4096)
	buf = buf[:runtime.Stack(buf, false)]
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dup := t.out[x]; dup {
		panic(fmt.Sprintf("pool: Get returned %p, which is already rented: the pool handed one object to two holders", x))
	}
	t.out[x] = string(buf)
}

func (t *tracker[T]) returned(x *T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.out[x]; !ok {
		panic(fmt.Sprintf("pool: Put(%p) of an object that is not rented: returned twice, or not from this pool", x))
	}
	delete(t.out, x)
}

func (t *tracker[T]) outstanding() []Leak {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.out) == 0 {
		return nil
	}
	leaks := make([]Leak, 0, len(t.out))
	for x, stack := range t.out {
		leaks = append(leaks, Leak{Object: x, Stack: stack})
	}
	return leaks
}
