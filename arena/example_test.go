package arena_test

import (
	"fmt"

	"github.com/zerogc/zerogc/arena"
)

type token struct {
	kind string
	next *token
}

// Per-request scratch: build a linked structure in the arena, use it, and
// free it all at once with Reset.
func ExampleArena() {
	a := arena.MustNew[token](arena.Options{})
	for _, line := range []string{"a b c", "d e"} {
		var head *token
		for _, f := range line {
			if f != ' ' {
				head = a.Alloc(token{kind: string(f), next: head})
			}
		}
		n := 0
		for t := head; t != nil; t = t.next {
			n++
		}
		fmt.Println(line, "->", n, "tokens, arena holds", a.Len())
		a.Reset() // head and every token are invalid from here on
	}
	// Output:
	// a b c -> 3 tokens, arena holds 3
	// d e -> 2 tokens, arena holds 2
}

// A Ref catches use after Reset.
func ExampleRef() {
	a := arena.MustNew[int](arena.Options{})
	r := a.NewRef()
	*r.Get() = 7
	fmt.Println(*r.Get(), r.Valid())
	a.Reset()
	fmt.Println(r.Valid())
	// Output:
	// 7 true
	// false
}

// Debug mode lets Check report pointers kept past Reset.
func ExampleArena_Check() {
	a := arena.MustNew[int](arena.Options{Debug: true})
	p := a.New()
	fmt.Println(a.Check(p))
	a.Reset()
	fmt.Println(a.Check(p))
	// Output:
	// <nil>
	// arena: pointer not allocated by this arena since its last Reset
}
