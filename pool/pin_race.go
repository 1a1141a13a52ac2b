//go:build race

package pool

// pinning is false under the race detector; see pin.go.
const pinning = false

func procPin() int { return 0 }
func procUnpin()   {}
