package resp_test

import (
	"errors"
	"testing"

	"github.com/zerogc/zerogc/resp"
)

// FuzzDecode: whatever a server sends, Scan and Decode neither panic nor
// read past what they were given; a reply Scan accepts decodes, with small
// caller buffers or none; and Scan is consistent about where a reply ends.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-ERR x\r\n", ":42\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", "*1\r\n-E\r\n", "$0\r\n\r\n", "*0\r\n",
		"$9999999999\r\n", "*3\r\n", ":-\r\n", "+\r\n",
	} {
		f.Add([]byte(s))
	}
	c := resp.NewCodec(resp.Limits{MaxBulk: 1 << 16, MaxArray: 1 << 10, MaxDepth: 8})
	f.Fuzz(func(t *testing.T, in []byte) {
		n, _, err := c.Scan(in)
		if err != nil {
			var pe *resp.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("Scan error %T %v is not a *ProtocolError", err, err)
			}
			return
		}
		if n < 0 || n > len(in) {
			t.Fatalf("Scan = %d for %d bytes", n, len(in))
		}
		if n == 0 {
			return
		}
		if m, _, err := c.Scan(in[:n]); m != n || err != nil {
			t.Fatalf("Scan of the reply alone = %d, %v; want %d", m, err, n)
		}
		if m, _, err := c.Scan(in[:n-1]); m != 0 || err != nil {
			t.Fatalf("Scan of the reply less one byte = %d, %v; want incomplete", m, err)
		}
		for _, dst := range []resp.Value{{}, {Str: make([]byte, 0, 3), Array: make([]resp.Value, 0, 1)}} {
			err := c.Decode(in[:n], &dst)
			var re *resp.Error
			if err != nil && !errors.As(err, &re) {
				t.Fatalf("Decode of a scanned reply: %v", err)
			}
			if err == nil && in[0] != '-' {
				_ = dst.String() // walks every element
			}
		}
	})
}
