package vtask_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/zerogc/zerogc/pool"
	"github.com/zerogc/zerogc/vtask"
)

// Run runs a function on an executor and returns a task for its result.
func ExampleRun() {
	workers := vtask.NewWorkerPool(2, 0)
	defer workers.Close()

	task := vtask.Run(workers, func() (string, error) {
		return strings.ToUpper("hello from a worker"), nil
	})
	v, err := task.Await()
	fmt.Println(v, err)
	// Output: HELLO FROM A WORKER <nil>
}

func square(x int) (int, error) { return x * x, nil }

// RunWith passes its state as an argument: with a top-level function no
// closure is allocated, and the pooled operation makes the whole call
// allocation-free.
func ExampleRunWith() {
	workers := vtask.NewWorkerPool(1, 0)
	defer workers.Close()

	v, err := vtask.RunWith(workers, square, 12).Await()
	fmt.Println(v, err)

	// On the Inline executor the function runs at once: the synchronous path.
	sync := vtask.RunWith(vtask.Inline, square, 3)
	fmt.Println(sync.IsImmediate(), sync.IsCompleted())
	// Output:
	// 144 <nil>
	// true true
}

// Close runs the jobs already queued, then stops the workers. Execute may
// be called during and after Close: a job that is not queued runs on the
// caller, so a task of RunWith still completes.
func ExampleWorkerPool_Close() {
	workers := vtask.NewWorkerPool(2, 0)
	queued := vtask.RunWith(workers, square, 5)
	workers.Close()

	late := vtask.RunWith(workers, square, 6) // runs here, on the caller
	a, _ := queued.Await()
	b, _ := late.Await()
	fmt.Println(a, b)
	// Output: 25 36
}

// A function that ends its goroutine with runtime.Goexit, as t.FailNow
// does in a test, completes its task with ErrGoexit; the pool replaces
// the worker.
func ExampleRun_goexit() {
	workers := vtask.NewWorkerPool(1, 0)
	defer workers.Close()

	_, err := vtask.Run(workers, func() (int, error) {
		runtime.Goexit()
		return 0, nil
	}).Await()
	fmt.Println(errors.Is(err, vtask.ErrGoexit))

	v, err := vtask.RunWith(workers, square, 7).Await() // the pool still works
	fmt.Println(v, err)
	// Output:
	// true
	// 49 <nil>
}

// A library author rents a pooled Completion, hands out its Task, and
// completes it from another goroutine, as an I/O callback would. The
// Completion returns to its pool when the result is consumed.
func ExampleRent() {
	completion := vtask.Rent[string]()
	task := completion.Task()

	go func() {
		// ... the I/O finishes ...
		completion.SetResult("response")
	}()

	v, err := task.Await()
	fmt.Println(v, err)

	// The task is spent: its result was consumed and its source reused.
	_, err = task.Await()
	fmt.Println(errors.Is(err, vtask.ErrStale))
	// Output:
	// response <nil>
	// true
}

// AwaitContext stops waiting when the context ends. The operation goes on,
// and its source returns to the pool by itself when it completes.
func ExampleTask_AwaitContext() {
	completion := vtask.Rent[int]()
	task := completion.Task()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := task.AwaitContext(ctx)
	fmt.Println(err)

	completion.SetResult(1) // completes later; nobody waits, nothing leaks
	// Output: context deadline exceeded
}

// OnCompleted registers a continuation instead of blocking. Passing the
// state as an argument keeps it from being a closure.
func ExampleTask_OnCompleted() {
	completion := vtask.Rent[int]()
	task := completion.Task()
	var wg sync.WaitGroup
	wg.Add(1)
	_ = task.OnCompleted(func(arg any) {
		v, _ := task.Result()
		fmt.Println("continuation got", v, "for", arg)
		wg.Done()
	}, "request-7")
	completion.SetResult(42)
	wg.Wait()
	// Output: continuation got 42 for request-7
}

// WhenAll waits for many tasks and writes their results into a caller's
// slice.
func ExampleWhenAll() {
	workers := vtask.NewWorkerPool(2, 0)
	defer workers.Close()
	tasks := make([]vtask.Task[int], 5)
	for i := range tasks {
		tasks[i] = vtask.RunWith(workers, square, i)
	}
	results, err := vtask.WhenAll(tasks, make([]int, len(tasks))).Await()
	fmt.Println(results, err)
	// Output: [0 1 4 9 16] <nil>
}

// WhenAny returns the first task to complete; the others are consumed as
// they complete.
func ExampleWhenAny() {
	fast, slow := vtask.Rent[string](), vtask.Rent[string]()
	first := vtask.WhenAny([]vtask.Task[string]{slow.Task(), fast.Task()})
	fast.SetResult("fast replica")
	got, err := first.Await()
	fmt.Println(got.Index, got.Value, err)
	slow.SetResult("slow replica") // consumed and recycled by WhenAny
	// Output: 1 fast replica <nil>
}

// Preserve makes a task that many goroutines may await.
func ExampleTask_Preserve() {
	completion := vtask.Rent[string]()
	shared := completion.Task().Preserve()
	completion.SetResult("config loaded")
	for range 2 {
		v, _ := shared.Await()
		fmt.Println(v)
	}
	// Output:
	// config loaded
	// config loaded
}

// FileReader is a custom source in the shape of the seed's
// FileReadingPooledValueTaskSource: a pooled operation that reads a file on
// another goroutine and completes itself. It embeds a Core, which implements
// the Source protocol, and returns itself to its pool on consumption.
type FileReader struct {
	vtask.Core[string]
	path string
}

var readers *pool.Pool[FileReader]

func init() {
	readers = pool.New(func() *FileReader {
		r := new(FileReader)
		r.SetRelease(recycleReader, r)
		return r
	})
}

// recycleReader is the Core's release function: it runs once the result is
// consumed, and returns the reader to its pool.
func recycleReader(arg any) {
	r := arg.(*FileReader)
	r.path = ""
	readers.Put(r)
}

// ReadFileAsync starts reading path. An empty path fails synchronously,
// without touching the pool.
func ReadFileAsync(path string) vtask.Task[string] {
	if path == "" {
		return vtask.FromError[string](errors.New("empty path"))
	}
	r := readers.Get()
	r.path = path
	task := r.Task()
	go r.read() // in real code: an I/O callback
	return task
}

func (r *FileReader) read() {
	data, err := os.ReadFile(r.path)
	if err != nil {
		r.SetError(err)
		return
	}
	r.SetResult(string(data))
}

// A custom Source: embed Core, recycle in the release function, and hand out
// Core.Task.
func Example_customSource() {
	dir, _ := os.MkdirTemp("", "vtask-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "greeting.txt")
	_ = os.WriteFile(path, []byte("hello, file"), 0o644)

	text, err := ReadFileAsync(path).Await()
	fmt.Println(text, err)

	_, err = ReadFileAsync(filepath.Join(dir, "missing.txt")).Await()
	fmt.Println(errors.Is(err, os.ErrNotExist))

	_, err = ReadFileAsync("").Await()
	fmt.Println(err)
	// Output:
	// hello, file <nil>
	// true
	// empty path
}
