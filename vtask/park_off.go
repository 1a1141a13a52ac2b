//go:build race || go1.28

package vtask

// canPark and parking are false under the race detector, and on Go
// releases whose runtime park.go has not been checked against; see
// park.go. Await then waits on the Core's channel, as AwaitContext does.
const canPark = false

var parking = false

func (h *head) park() { panic("vtask: park without parking") }
func wakeG(uintptr)   { panic("vtask: wake without parking") }
