package labtest

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestStallingServer(t *testing.T) {
	for _, reply := range []string{"", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"} {
		url := StallingServer(t, reply)
		c, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		got, err := io.ReadAll(c)
		if string(got) != reply {
			t.Errorf("read %q, want %q", got, reply)
		}
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("after the reply: %v, want a timeout (the server stalls)", err)
		}
		c.Close()
	}
}
