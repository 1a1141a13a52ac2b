package vtask_test

import (
	"testing"
	"unsafe"

	"github.com/zerogc/zerogc/vtask"
)

// TestCompletionsStartOnACacheLine checks that Rent hands out Completions
// that start on a 64-byte boundary, for several sizes of T up to the 448
// bytes that newCompletion pads (a larger one starts after the runtime's
// malloc header, whatever the padding), so that the
// words a completer writes and WhenAll's sweep reads (state, value) share
// one cache line for a small T.
func TestCompletionsStartOnACacheLine(t *testing.T) {
	check := func(name string, addr func() (uintptr, func())) {
		t.Helper()
		var done []func()
		for range 64 {
			a, release := addr()
			done = append(done, release)
			if a%64 != 0 {
				t.Errorf("%s: Completion at %#x, not 64-byte aligned", name, a)
				break
			}
		}
		for _, f := range done {
			f()
		}
	}
	check("int", rentAddr[int])
	check("[3]int", rentAddr[[3]int])
	check("string", rentAddr[string])
	check("[40]byte", rentAddr[[40]byte])
	check("[38]int", rentAddr[[38]int]) // 432 bytes with the Core
}

// rentAddr rents a Completion[T] and returns its address and a function
// that completes and consumes it, which returns it to its pool.
func rentAddr[T any]() (uintptr, func()) {
	c := vtask.Rent[T]()
	task := c.Task()
	return uintptr(unsafe.Pointer(c)), func() {
		var zero T
		c.SetResult(zero)
		task.Result() //nolint:errcheck // completed just above
	}
}
