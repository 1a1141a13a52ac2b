package resp_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/vtask"
)

// The examples run against an in-process stand-in for redis-server
// (fakeredis_test.go); with a real server, pass its address to Dial.

// exampleClient returns a client of a fresh in-process server, and the
// function that stops both.
func exampleClient() (*resp.Client, func()) {
	srv := startFakeRedis()
	c, err := resp.Dial(context.Background(), srv.Addr(), resp.Options{})
	if err != nil {
		panic(err)
	}
	return c, func() {
		c.Close()
		srv.Close()
	}
}

func ExampleDial() {
	srv := startFakeRedis()
	defer srv.Close()
	ctx := context.Background()
	c, err := resp.Dial(ctx, srv.Addr(), resp.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	v, err := c.Ping(ctx).Await()
	fmt.Println(v, err)
	// Output: PONG <nil>
}

// GetInto decodes the value into the caller's buffer: no allocation.
func ExampleClient_GetInto() {
	c, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	c.Set(ctx, "greeting", []byte("hello"), resp.SetOptions{}).Await()
	buf := make([]byte, 0, 64)
	v, err := c.GetInto(ctx, "greeting", buf).AwaitContext(ctx)
	fmt.Printf("%s %v\n", v.Str, err)
	v, err = c.GetInto(ctx, "missing", buf).AwaitContext(ctx)
	fmt.Println(v.IsNull(), err)
	// Output:
	// hello <nil>
	// true <nil>
}

func ExampleClient_Set() {
	c, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	v, err := c.Set(ctx, "session", []byte("data"), resp.SetOptions{EX: time.Hour}).Await()
	fmt.Println(v, err)
	v, err = c.Set(ctx, "session", []byte("other"), resp.SetOptions{NX: true}).Await()
	fmt.Println(v.IsNull(), err) // NX: not set, the key exists
	// Output:
	// OK <nil>
	// true <nil>
}

// Any command, through Do; a server's error reply is a *resp.Error.
func ExampleClient_Do() {
	c, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	v, err := c.Do(ctx, "ECHO", "anything").Await()
	fmt.Println(v, err)
	_, err = c.Do(ctx, "NOSUCHCOMMAND").Await()
	var re *resp.Error
	fmt.Println(errors.As(err, &re), re.Prefix())
	// Output:
	// anything <nil>
	// true ERR
}

func ExampleClient_Incr() {
	c, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	c.Incr(ctx, "hits").Await()
	v, _ := c.Incr(ctx, "hits").Await()
	fmt.Println(v.Int)
	n, _ := c.Del(ctx, "hits", "nothing").Await()
	fmt.Println(n.Int)
	// Output:
	// 2
	// 1
}

// MGetInto decodes every value into the caller's buffers.
func ExampleClient_MGetInto() {
	c, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	c.Set(ctx, "a", []byte("1"), resp.SetOptions{}).Await()
	c.Set(ctx, "b", []byte("2"), resp.SetOptions{}).Await()
	buf, elems := make([]byte, 0, 64), make([]resp.Value, 0, 4)
	v, err := c.MGetInto(ctx, buf, elems, "a", "missing", "b").Await()
	fmt.Println(v, err)
	// Output: [1 (nil) 2] <nil>
}

// A hundred GETs in flight from one goroutine, then one wait for all.
func Example_whenAll() {
	c, stop := exampleClient()
	defer stop()
	ctx := context.Background()

	c.Set(ctx, "k", []byte("v"), resp.SetOptions{}).Await()
	tasks := make([]vtask.Task[resp.Value], 100)
	bufs := make([][]byte, len(tasks))
	for i := range tasks {
		bufs[i] = make([]byte, 0, 16)
		tasks[i] = c.GetInto(ctx, "k", bufs[i])
	}
	values, err := vtask.WhenAll(tasks, nil).Await()
	fmt.Println(len(values), values[0], values[99], err)
	// Output: 100 v v <nil>
}

// A deadline shorter than the reply: the call returns at its deadline, and
// its reply is discarded when it arrives, with nothing started to wait
// for it.
func ExampleClient_GetInto_deadline() {
	c, stop := exampleClient()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := c.Do(ctx, "FAKE.SLEEP", "100").AwaitContext(ctx)
	fmt.Println(err)
	// Output: context deadline exceeded
}
