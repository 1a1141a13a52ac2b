package pipeline_test

import (
	"bufio"
	"context"
	"fmt"
	"net"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/vtask"
)

// echoServer answers each line of the test protocol with the same line.
func echoServer(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if _, err := nc.Write(line); err != nil {
			return
		}
	}
}

// A call: Begin reserves a place in the window, the request is appended to
// the connection's write buffer, Commit returns the task, whose reply is
// decoded into the caller's buffer.
func ExampleConn() {
	client, server := net.Pipe()
	go echoServer(server)
	conn := pipeline.NewConn[[]byte](client, lineCodec{}, pipeline.Options{})
	defer conn.Close()

	ctx := context.Background()
	buf := make([]byte, 0, 64) // the reply goes here
	req, err := conn.Begin(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	req.Buf = append(req.Buf, "0 hello\n"...)
	reply, err := conn.Commit(req, buf).AwaitContext(ctx)
	fmt.Printf("%s %v\n", reply, err)
	// Output: hello <nil>
}

// Many calls in flight from one goroutine, then one wait for all: the
// replies that arrive in one read complete the WhenAll with one wake-up.
func ExampleConn_whenAll() {
	client, server := net.Pipe()
	go echoServer(server)
	conn := pipeline.NewConn[[]byte](client, lineCodec{}, pipeline.Options{})
	defer conn.Close()

	ctx := context.Background()
	tasks := make([]vtask.Task[[]byte], 3)
	for i := range tasks {
		tasks[i] = call(ctx, conn, fmt.Appendf(nil, "call-%d", i), nil)
	}
	replies, err := vtask.WhenAll(tasks, nil).Await()
	fmt.Printf("%s %v\n", replies, err)
	// Output: [call-0 call-1 call-2] <nil>
}

// A Pool of two connections, picked by round robin.
func ExamplePool() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go echoServer(nc)
		}
	}()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	ctx := context.Background()
	p, err := pipeline.NewPool[[]byte](ctx, 2, dial, lineCodec{}, pipeline.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	for i := range 2 {
		conn, err := p.Pick()
		if err != nil {
			fmt.Println(err)
			return
		}
		v, err := call(ctx, conn, fmt.Appendf(nil, "call %d", i), nil).Await()
		fmt.Printf("%s %v\n", v, err)
	}
	// Output:
	// call 0 <nil>
	// call 1 <nil>
}
