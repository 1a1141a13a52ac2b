package vtask

import (
	"errors"
	"fmt"
)

// Errors returned to the holder of a Task that misuses it. Each is distinct
// and can be tested with errors.Is. None of them disturbs the operation the
// task refers to.
var (
	// ErrStale is returned when a task's version token is not exactly the
	// current version of its source: the result was already consumed (a
	// task awaited or read twice), the source was recycled and now serves
	// another operation, or the token was never handed out. It is also
	// returned for a task whose wait AwaitContext gave up (its result then
	// belongs to the completion, which consumes it).
	ErrStale = errors.New("vtask: stale task: its result was already consumed or its source now serves another operation")

	// ErrNotCompleted is returned by Result when the operation has not
	// completed yet. Nothing is consumed or recycled.
	ErrNotCompleted = errors.New("vtask: result read before the operation completed")

	// ErrAlreadyRegistered is returned when a continuation is registered on
	// an operation that already has one. The first registration stands.
	ErrAlreadyRegistered = errors.New("vtask: a continuation is already registered for this operation")

	// ErrAwaitedTwice is returned when a task is awaited (or given a
	// continuation) while another goroutine is already awaiting it. The
	// first awaiter is not disturbed.
	ErrAwaitedTwice = errors.New("vtask: the task is already being awaited by another goroutine")

	// ErrNilContinuation is returned when OnCompleted is given a nil
	// function.
	ErrNilContinuation = errors.New("vtask: nil continuation")

	// ErrNoTasks is the error of WhenAny given no tasks.
	ErrNoTasks = errors.New("vtask: WhenAny of no tasks")

	// ErrGoexit is the error of an operation run by Run or RunWith on an
	// executor whose function called runtime.Goexit (as t.FailNow and
	// t.SkipNow do) instead of returning.
	ErrGoexit = errors.New("vtask: the operation's function called runtime.Goexit instead of returning")
)

// PanicError is the error of an operation run by Run or RunWith whose
// function panicked. The panic is recovered on the goroutine that ran it and
// delivered to the task's holder.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the panicking goroutine, from debug.Stack
}

// Error describes the panic and where it happened.
func (e *PanicError) Error() string {
	return fmt.Sprintf("vtask: operation panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
