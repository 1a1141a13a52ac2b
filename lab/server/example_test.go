package server_test

import (
	"fmt"
	"time"

	"github.com/zerogc/zerogc/lab/server"
)

func ExampleAppendValues() {
	var buf [64]byte // on the stack: no allocation
	b := server.AppendValues(buf[:0], time.Date(2018, 1, 30, 21, 4, 5, 678e6, time.UTC))
	fmt.Print(string(b))
	// Output: ["2018-01-30T21:04:05.678Z","value2"]
}

func ExampleParseGC() {
	for _, s := range []string{"on", "off", "limit=512MiB"} {
		m, _ := server.ParseGC(s)
		fmt.Println(m, m.Env())
	}
	// Output:
	// on [GOGC=100 GOMEMLIMIT=off]
	// off [GOGC=off GOMEMLIMIT=off]
	// limit=512MiB [GOGC=off GOMEMLIMIT=536870912]
}
