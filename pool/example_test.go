package pool_test

import (
	"bytes"
	"fmt"

	"github.com/zerogc/zerogc/pool"
)

// A pool of reusable buffers: Get one, use it, reset it, Put it back. With
// PerP, a goroutine that gets and puts on the same P uses that P's private
// slot, with no atomic operation.
func ExampleNew() {
	buffers := pool.New(func() *bytes.Buffer { return new(bytes.Buffer) }, pool.Size(64), pool.PerP())

	b := buffers.Get()
	b.WriteString("hello")
	fmt.Println(b.String())
	b.Reset()
	buffers.Put(b)

	fmt.Println("made:", buffers.Stats().New)
	// Output:
	// hello
	// made: 1
}

// In debug mode a pool panics on a double return and reports the objects
// that were rented and never returned, with the stack that rented them.
func ExamplePool_CheckLeaks() {
	p := pool.New(func() *bytes.Buffer { return new(bytes.Buffer) }, pool.Debug())
	kept := p.Get()
	p.Put(p.Get())

	fmt.Println(p.CheckLeaks() != nil, len(p.Outstanding()))
	p.Put(kept)
	fmt.Println(p.CheckLeaks())
	// Output:
	// true 1
	// <nil>
}
