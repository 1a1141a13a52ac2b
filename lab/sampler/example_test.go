package sampler_test

import (
	"fmt"
	"net"
	"os"

	"github.com/zerogc/zerogc/lab/sampler"
)

func ExampleReadRSS() {
	rss, err := sampler.ReadRSS(os.Getpid())
	fmt.Println(err == nil && rss > 0)
	// Output: true
}

// Check that this process is the one listening on a port, as "zerogc load
// --pid" does before it measures a server's memory.
func ExampleCheckListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	fmt.Println(sampler.CheckListener(os.Getpid(), ln.Addr().(*net.TCPAddr).Port))
	// Output: <nil>
}

// Sum the memory of a process and its descendants (a server's master and
// workers).
func ExampleReadTreeRSS() {
	rss, procs, err := sampler.ReadTreeRSS(os.Getpid())
	fmt.Println(err == nil && rss > 0 && procs >= 1)
	// Output: true
}
