// Package labtest provides servers that misbehave on purpose, for tests of
// load tools: they stand for the servers a load run must survive without
// hanging.
package labtest

import (
	"net"
	"testing"
)

// StallingServer listens on a loopback port and accepts every connection.
// On each one it reads the request and writes reply (nothing if reply is
// empty: a server that accepts and never answers; a status line and
// headers: one that stalls in the middle of a response), and then stays
// silent until the test ends. It returns the server's base URL,
// "http://127.0.0.1:PORT/".
func StallingServer(t testing.TB, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err == nil && reply != "" {
					_, _ = c.Write([]byte(reply))
				}
				<-quit
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}
