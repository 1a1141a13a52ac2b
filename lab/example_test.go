package lab_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/zerogc/zerogc/lab"
	"github.com/zerogc/zerogc/lab/report"
	"github.com/zerogc/zerogc/lab/server"
)

// Load the zero-allocation sample API with the collector off and print what
// the server allocated per request. The program must call
// server.RunChildIfRequested first thing in main: Run starts the server by
// re-executing it.
func ExampleRun() {
	r, err := lab.Run(context.Background(), lab.Config{
		Flavor:   server.Zero,
		GC:       server.GCMode{Off: true},
		Requests: 5000,
		Warmup:   500,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = report.WriteText(os.Stdout, r)
}

// Print where one net/http request's bytes come from.
func ExampleProfile() {
	p, err := lab.Profile(context.Background(), lab.Config{Flavor: server.NetHTTP, Warmup: 200})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = report.WriteProfile(os.Stdout, p, 10)
}

// The time limit of a run with the seed's flags is its worst case: every
// request taking its full timeout. A server that stops answering ends the
// run far sooner, after about one timeout.
func ExampleConfig_Limit() {
	c := lab.Config{Users: 10, Requests: 100000, Warmup: 1000, Delay: 10 * time.Millisecond, Timeout: 5 * time.Second}
	fmt.Println(c.Limit())
	c.MaxDuration = 10 * time.Minute
	fmt.Println(c.Limit())
	// Output:
	// 14h3m50s
	// 10m0s
}
