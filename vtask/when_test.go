package vtask_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// whenAllV is the value type of the WhenAll tests, so that they have a
// debug-mode pool of Completions of their own.
type whenAllV struct{ n int }

var whenAllCompletions = vtask.DebugCompletions[whenAllV]()

// TestWhenAllCompletionOrders completes the tasks of a WhenAll after it
// was called (values are index+1, never the zero value), in orders that exercise every way its sweep waits: in order,
// reversed, the last one first, at random, and half of them before the
// call. Each task's value must land at its index, the first error by index
// must be the combined error, and every source must return to its pool.
func TestWhenAllCompletionOrders(t *testing.T) {
	const n = 50
	orders := map[string]func() (before, after []int){
		"in order": func() ([]int, []int) { return nil, seq(0, n) },
		"reversed": func() ([]int, []int) { return nil, reverse(seq(0, n)) },
		"last first": func() ([]int, []int) {
			return nil, append([]int{n - 1}, seq(0, n-1)...)
		},
		"random": func() ([]int, []int) { return nil, rand.Perm(n) },
		"half before": func() ([]int, []int) {
			p := rand.Perm(n)
			return p[:n/2], p[n/2:]
		},
		"all before": func() ([]int, []int) { return seq(0, n), nil },
		"all but the last before": func() ([]int, []int) {
			return seq(0, n-1), []int{n - 1}
		},
	}
	for name, order := range orders {
		for _, failing := range [][]int{nil, {7}, {31, 7}} {
			t.Run(fmt.Sprintf("%s/errors at %v", name, failing), func(t *testing.T) {
				cs := make([]*vtask.Completion[whenAllV], n)
				tasks := make([]vtask.Task[whenAllV], n)
				for i := range cs {
					if i%9 == 4 {
						tasks[i] = vtask.FromResult(whenAllV{i + 1}) // immediates mixed in
						continue
					}
					cs[i] = vtask.Rent[whenAllV]()
					tasks[i] = cs[i].Task()
				}
				complete := func(i int) {
					if cs[i] == nil {
						return
					}
					for _, f := range failing {
						if i == f {
							cs[i].SetError(fmt.Errorf("task %d failed", i))
							return
						}
					}
					cs[i].SetResult(whenAllV{i + 1})
				}
				before, after := order()
				for _, i := range before {
					complete(i)
				}
				all := vtask.WhenAll(tasks, make([]whenAllV, n))
				for _, i := range after {
					complete(i)
				}
				got, err := all.Await()
				wantErr := ""
				for i := range n {
					for _, f := range failing {
						if i == f && cs[i] != nil && wantErr == "" {
							wantErr = fmt.Sprintf("task %d failed", i)
						}
					}
				}
				if (err == nil) != (wantErr == "") || (err != nil && err.Error() != wantErr) {
					t.Fatalf("err = %v, want %q", err, wantErr)
				}
				for i, v := range got {
					failed := false
					for _, f := range failing {
						failed = failed || i == f
					}
					if !failed && v.n != i+1 {
						t.Fatalf("results[%d] = %d, want %d", i, v.n, i+1)
					}
				}
				if err := whenAllCompletions.CheckLeaks(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestWhenAllTasksItCannotAwait gives WhenAll a stale task, a task that
// another continuation waits for, and the same task twice: each is
// reported by its Result's error (the first by index), and the others'
// values are still collected.
func TestWhenAllTasksItCannotAwait(t *testing.T) {
	stale := vtask.Rent[whenAllV]()
	staleTask := stale.Task()
	stale.SetResult(whenAllV{-1})
	if _, err := staleTask.Result(); err != nil {
		t.Fatal(err)
	}
	other := vtask.Rent[whenAllV]()
	otherTask := other.Task()
	otherFired := make(chan error, 1)
	if err := otherTask.OnCompleted(func(any) { _, err := otherTask.Result(); otherFired <- err }, nil); err != nil {
		t.Fatal(err)
	}
	twice := vtask.Rent[whenAllV]()
	twiceTask := twice.Task()
	ok := vtask.Rent[whenAllV]()

	tasks := []vtask.Task[whenAllV]{ok.Task(), twiceTask, twiceTask, staleTask}
	all := vtask.WhenAll(tasks, nil)
	ok.SetResult(whenAllV{0})
	twice.SetResult(whenAllV{1})
	got, err := all.Await()
	if !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("err = %v, want ErrStale (the duplicate, then the stale task)", err)
	}
	if got[0].n != 0 || got[1].n != 1 {
		t.Fatalf("results = %v, want 0 and 1 at indexes 0 and 1", got)
	}

	// A task with someone else's continuation, still pending when the
	// others complete: WhenAll cannot wait for it and reports that.
	tasks = []vtask.Task[whenAllV]{otherTask}
	if _, err := vtask.WhenAll(tasks, nil).Await(); !errors.Is(err, vtask.ErrNotCompleted) {
		t.Fatalf("err = %v, want ErrNotCompleted for a task another continuation waits for", err)
	}
	other.SetResult(whenAllV{2})
	if err := <-otherFired; err != nil {
		t.Fatalf("the other continuation's Result: %v", err)
	}
	if err := whenAllCompletions.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}

// TestWhenAllOfPreservedTasks combines tasks of a Source that is not a
// Core (Preserve's), whose OnCompleted runs a continuation inline when the
// task has completed: the sweep must not recurse, and must collect them.
func TestWhenAllOfPreservedTasks(t *testing.T) {
	const n = 300
	cs := make([]*vtask.Completion[int], n)
	tasks := make([]vtask.Task[int], n)
	for i := range cs {
		cs[i] = vtask.Rent[int]()
		tasks[i] = cs[i].Task().Preserve()
	}
	for i := range n / 2 {
		cs[i].SetResult(i)
	}
	all := vtask.WhenAll(tasks, nil)
	for i := n / 2; i < n; i++ {
		cs[i].SetResult(i)
	}
	got, err := all.Await()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("results[%d] = %d", i, v)
		}
	}
}

// TestStressWhenAll runs WhenAlls whose tasks are completed by several
// goroutines at once, in random order, while WhenAll sweeps and registers,
// some on Cores with an executor, some rented with RentBatch: every value
// must arrive at its index,
// and every source and combining operation must return to its pool once.
// Run it with -race.
func TestStressWhenAll(t *testing.T) {
	type v8 struct{ n int }
	completions := vtask.DebugCompletions[v8]()
	ops := vtask.DebugWhenAll[v8]()
	wp := vtask.NewWorkerPool(2, 0)
	defer wp.Close()
	rounds := 400
	if testing.Short() {
		rounds = 100
	}
	const completers = 3
	for r := range rounds {
		n := 1 + rand.IntN(64)
		cs := make([]*vtask.Completion[v8], n)
		tasks := make([]vtask.Task[v8], n)
		if r%3 == 0 {
			vtask.RentBatch(cs) // the batch path must hand out distinct Completions too
		}
		for i := range cs {
			if r%3 != 0 {
				cs[i] = vtask.Rent[v8]()
			}
			if i%5 == 3 {
				cs[i].SetExecutor(wp)
			}
			tasks[i] = cs[i].Task()
		}
		perm := rand.Perm(n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range completers {
			wg.Go(func() {
				<-start
				for k := g; k < n; k += completers {
					if k%7 == 0 {
						runtime.Gosched()
					}
					i := perm[k]
					cs[i].SetResult(v8{i})
				}
			})
		}
		if r%2 == 0 {
			close(start) // complete while WhenAll registers
		}
		all := vtask.WhenAll(tasks, make([]v8, n))
		if r%2 == 1 {
			close(start)
		}
		got, err := all.Await()
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: %v", r, err)
		}
		for i, v := range got {
			if v.n != i {
				t.Fatalf("round %d: results[%d] = %d", r, i, v.n)
			}
		}
	}
	if err := completions.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
	if err := ops.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}

func seq(from, to int) []int {
	s := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func reverse(s []int) []int {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}
