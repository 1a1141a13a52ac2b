package main

import (
	"fmt"
	"unsafe"
)

// Padded wastes space: each bool is followed by padding up to the next
// field's alignment. See the Layout tab.
type Padded struct {
	A bool
	B int64
	C bool
	D int32
	E bool
}

// Packed holds the same fields, largest first.
type Packed struct {
	B int64
	D int32
	A bool
	C bool
	E bool
}

// Run compares the two sizes.
func Run(input string) string {
	return fmt.Sprintf("Padded: %d bytes, Packed: %d bytes",
		unsafe.Sizeof(Padded{}), unsafe.Sizeof(Packed{}))
}
