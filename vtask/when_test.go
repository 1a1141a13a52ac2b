package vtask_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
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

// TestWhenAllLargeBatches runs WhenAlls of up to 384 tasks, more than a
// sweep holds at once (heldBatch) many times over, with completions from several goroutines in order, reversed and at
// random, some of them failing, immediates, RunWith tasks and bare Cores
// (sources that are not Completions) mixed in, and a stale task. Every value must land at its
// index, the first error by index must be the combined error, and every
// source must return to its pool once. Run it with -race.
func TestWhenAllLargeBatches(t *testing.T) {
	type v9 struct{ n int }
	completions := vtask.DebugCompletions[v9]()
	ops := vtask.DebugWhenAll[v9]()
	wp := vtask.NewWorkerPool(2, 0)
	defer wp.Close()
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	stale := vtask.Rent[v9]()
	staleTask := stale.Task()
	stale.SetResult(v9{})
	if _, err := staleTask.Result(); err != nil {
		t.Fatal(err)
	}
	for r := range rounds {
		n := 1 + rand.IntN(384)
		cs := make([]*vtask.Completion[v9], n)
		tasks := make([]vtask.Task[v9], n)
		vtask.RentBatch(cs)
		cores := make([]vtask.Core[v9], n)
		var released, bare atomic.Int64
		failAt, staleAt := -1, -1
		if r%4 == 1 {
			// A Completion's index (see the switch below).
			for failAt = rand.IntN(n); failAt%11 == 5 || failAt%13 == 6 || failAt%17 == 8; failAt = rand.IntN(n) {
			}
		}
		if r%4 == 2 {
			staleAt = rand.IntN(n)
		}
		for i := range cs {
			switch {
			case i == staleAt:
				tasks[i] = staleTask
				cs[i].Reset()
				completions.Put(cs[i])
				cs[i] = nil
			case i%11 == 5:
				tasks[i] = vtask.FromResult(v9{i})
				cs[i].Reset()
				completions.Put(cs[i])
				cs[i] = nil
			case i%13 == 6:
				tasks[i] = vtask.RunWith(wp, func(x int) (v9, error) { return v9{x}, nil }, i)
				cs[i].Reset()
				completions.Put(cs[i])
				cs[i] = nil
			case i%17 == 8:
				cores[i].SetRelease(func(any) { released.Add(1) }, nil)
				tasks[i] = cores[i].Task()
				bare.Add(1)
				cs[i].Reset()
				completions.Put(cs[i])
				cs[i] = nil
			default:
				tasks[i] = cs[i].Task()
			}
		}
		var order []int
		switch r % 3 {
		case 0:
			order = seq(0, n)
		case 1:
			order = reverse(seq(0, n))
		default:
			order = rand.Perm(n)
		}
		const completers = 2
		var wg sync.WaitGroup
		start := make(chan struct{})
		for g := range completers {
			wg.Go(func() {
				<-start
				for k := g; k < n; k += completers {
					i := order[k]
					switch {
					case i%17 == 8 && i != staleAt && i%11 != 5 && i%13 != 6:
						cores[i].SetResult(v9{i})
					case cs[i] == nil:
					case i == failAt:
						cs[i].SetError(fmt.Errorf("task %d failed", i))
					default:
						cs[i].SetResult(v9{i})
					}
				}
			})
		}
		if r%2 == 0 {
			close(start) // complete while WhenAll sweeps and registers
		}
		all := vtask.WhenAll(tasks, make([]v9, n))
		if r%2 == 1 {
			close(start)
		}
		got, err := all.Await()
		wg.Wait()
		switch {
		case staleAt >= 0:
			if !errors.Is(err, vtask.ErrStale) {
				t.Fatalf("round %d: err = %v, want ErrStale (stale task at %d)", r, err, staleAt)
			}
		case failAt >= 0:
			if want := fmt.Sprintf("task %d failed", failAt); err == nil || err.Error() != want {
				t.Fatalf("round %d: err = %v, want %q", r, err, want)
			}
		case err != nil:
			t.Fatalf("round %d: %v", r, err)
		}
		for i, v := range got {
			if i != failAt && i != staleAt && v.n != i {
				t.Fatalf("round %d: results[%d] = %d, want %d", r, i, v.n, i)
			}
		}
		if released.Load() != bare.Load() {
			t.Fatalf("round %d: %d bare Cores released, want %d", r, released.Load(), bare.Load())
		}
	}
	if err := completions.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
	if err := ops.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
}
