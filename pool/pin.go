//go:build !race

package pool

import _ "unsafe" // for go:linkname

// pinning reports whether the private slots of a PerP pool are in use. The
// race detector cannot see that pinning a goroutine to its P orders the
// accesses to that P's slot, and would report them; under -race the private
// slots are off and every Get and Put takes the shared path.
const pinning = true

// procPin disables preemption of the calling goroutine, so that it stays on
// its P, and returns the P's id; procUnpin ends that. sync.Pool uses the
// same pair. The runtime keeps both linkable on purpose (go.dev/issue/67401).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()
