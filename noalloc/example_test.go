package noalloc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/zerogc/zerogc/noalloc"
)

// Check a module and list each marked function with its verdict. The
// module in testdata/chain has one marked function whose only allocation
// is on an allowed error path.
func ExampleCheck() {
	rep, err := noalloc.Check(context.Background(), "testdata/chain", []string{"./..."})
	if err != nil {
		log.Fatal(err)
	}
	for _, root := range rep.Roots {
		fmt.Printf("%s %s: proven=%v, %d allowed\n", root.Pos, root.Func, root.OK(), len(root.Allowed))
	}
	// Output:
	// hot/hot.go:16 hot.Hot: proven=true, 3 allowed
}
