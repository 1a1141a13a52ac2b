package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/zerogc/zerogc/lab/loadgen"
)

func ExampleValidateURL() {
	_, err := loadgen.ValidateURL("http://127.0.0.1:8080/api/values")
	fmt.Println(err)
	_, err = loadgen.ValidateURL("http://10.0.0.5:8080/api/values")
	fmt.Println(err)
	// Output:
	// <nil>
	// loadgen: refusing to load "10.0.0.5": only loopback targets (127.0.0.1, ::1, localhost) are allowed
}

// A server that accepts connections and never answers ends a run after one
// timeout, with a reason that says what the server did.
func ExampleGenerator_Run() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() { // accept, never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	g, err := loadgen.New(loadgen.Config{URL: "http://" + ln.Addr().String() + "/", Users: 3, Timeout: 50 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := g.Run(context.Background(), 1000, 0)
	fmt.Println(res.Requests, res.Errors["timeout"])
	fmt.Println(strings.Replace(res.Aborted, ln.Addr().String(), "ADDR", 1))
	// Output:
	// 3 3
	// 3 requests in a row timed out after 50ms: the server at ADDR accepts connections but sent no byte of a response; if it is only slow, raise the timeout (--timeout), otherwise check that the URL is the server's HTTP endpoint
}
