package redisproc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/zerogc/zerogc/resp/redisproc"
)

// Start a throwaway redis-server, use it, stop it. (Not run by go test:
// it needs redis-server on PATH.)
func ExampleStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := redisproc.Start(ctx)
	if err != nil {
		fmt.Println(err) // says apt-get install redis-server when it is missing
		return
	}
	defer s.Stop()
	fmt.Println(redisproc.Ping(s.Addr, time.Second))
}
