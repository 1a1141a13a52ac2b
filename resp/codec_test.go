package resp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/zerogc/zerogc/resp"
)

func decodeAll(t *testing.T, c *resp.Codec, in string, dst resp.Value) (resp.Value, error) {
	t.Helper()
	n, tag, err := c.Scan([]byte(in))
	if err != nil {
		return resp.Value{}, err
	}
	if n != len(in) || tag != 0 {
		t.Fatalf("Scan(%q) = %d, %d; want %d, 0", in, n, tag, len(in))
	}
	err = c.Decode([]byte(in), &dst)
	return dst, err
}

func TestCodecDecodesEveryType(t *testing.T) {
	c := resp.NewCodec(resp.Limits{})
	cases := []struct {
		in   string
		want string // Value.String()
		typ  resp.Type
	}{
		{"+OK\r\n", "OK", resp.SimpleString},
		{"+hello world\r\n", "hello world", resp.SimpleString},
		{":0\r\n", "0", resp.Integer},
		{":-9223372036854775808\r\n", "-9223372036854775808", resp.Integer},
		{":9223372036854775807\r\n", "9223372036854775807", resp.Integer},
		{"$5\r\nhe\r\no\r\n", "he\r\no", resp.BulkString},
		{"$0\r\n\r\n", "", resp.BulkString},
		{"$-1\r\n", "(nil)", resp.Null},
		{"*-1\r\n", "(nil)", resp.Null},
		{"*0\r\n", "[]", resp.Array},
		{"*3\r\n$1\r\na\r\n$-1\r\n:7\r\n", "[a (nil) 7]", resp.Array},
		{"*2\r\n*2\r\n+x\r\n-ERR in array\r\n*1\r\n$2\r\nyz\r\n", "[[x ERR in array] [yz]]", resp.Array},
	}
	for _, tc := range cases {
		v, err := decodeAll(t, c, tc.in, resp.Value{})
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if v.Type != tc.typ || v.String() != tc.want {
			t.Errorf("%q = %s %q, want %s %q", tc.in, v.Type, v.String(), tc.typ, tc.want)
		}
	}
}

func TestCodecErrorReplyIsTyped(t *testing.T) {
	c := resp.NewCodec(resp.Limits{})
	_, err := decodeAll(t, c, "-WRONGTYPE Operation against a key\r\n", resp.Value{})
	var re *resp.Error
	if !errors.As(err, &re) || re.Prefix() != "WRONGTYPE" || re.Msg != "WRONGTYPE Operation against a key" {
		t.Fatalf("err = %#v, want *resp.Error WRONGTYPE", err)
	}
}

func TestCodecDecodesIntoCallerBuffers(t *testing.T) {
	c := resp.NewCodec(resp.Limits{})
	buf := make([]byte, 0, 64)
	elems := make([]resp.Value, 0, 8)
	v, err := decodeAll(t, c, "$5\r\nhello\r\n", resp.Value{Str: buf})
	if err != nil || string(v.Str) != "hello" || &v.Str[0] != &buf[:1][0] {
		t.Fatalf("bulk: %q, %v; want hello in the caller's buffer", v.Str, err)
	}
	v, err = decodeAll(t, c, "*2\r\n$3\r\nabc\r\n*1\r\n$2\r\nde\r\n", resp.Value{Str: buf, Array: elems})
	if err != nil || v.String() != "[abc [de]]" {
		t.Fatalf("array: %v, %v", v, err)
	}
	if &v.Array[0] != &elems[:1][0] || &v.Array[0].Str[0] != &buf[:1][0] {
		t.Fatal("array elements or their bytes not in the caller's buffers")
	}
	if v.Array[1].Array[0].String() != "de" {
		t.Fatalf("nested element = %v", v.Array[1].Array[0])
	}
	// Too small a buffer: the value is still right, in new memory.
	v, err = decodeAll(t, c, "$5\r\nhello\r\n", resp.Value{Str: make([]byte, 0, 2)})
	if err != nil || string(v.Str) != "hello" {
		t.Fatalf("small buffer: %q, %v", v.Str, err)
	}
}

// TestCodecTruncatedRepliesAreIncomplete: every proper prefix of a valid
// reply is reported incomplete (n == 0, no error), never an error and
// never a shorter reply: a reply split across reads waits for its rest.
func TestCodecTruncatedRepliesAreIncomplete(t *testing.T) {
	c := resp.NewCodec(resp.Limits{})
	for _, in := range []string{
		"+OK\r\n", ":12345\r\n", "$5\r\nhello\r\n", "$-1\r\n",
		"*3\r\n$1\r\na\r\n$-1\r\n:7\r\n", "*1\r\n*1\r\n+x\r\n", "-ERR x\r\n",
	} {
		for i := range len(in) {
			n, _, err := c.Scan([]byte(in[:i]))
			if n != 0 || err != nil {
				t.Errorf("Scan(%q) = %d, %v; want 0, nil (incomplete)", in[:i], n, err)
			}
		}
		// Followed by the start of the next reply, it is complete.
		if n, _, err := c.Scan([]byte(in + "+PONG\r\n")); n != len(in) || err != nil {
			t.Errorf("Scan(%q + next) = %d, %v; want %d", in, n, err, len(in))
		}
	}
}

func TestCodecMalformedReplies(t *testing.T) {
	c := resp.NewCodec(resp.Limits{MaxBulk: 1 << 20, MaxArray: 1000, MaxDepth: 3})
	cases := []struct{ in, want string }{
		{"?\r\n", "unexpected byte"},
		{"+OK\n", "without \\r"},
		{":12a\r\n", "not an integer"},
		{":\r\n", "not an integer"},
		{":99999999999999999999\r\n", "not an integer"},
		{"$-2\r\n", "negative bulk"},
		{"$3\r\nabcd\r\n", "length is wrong"},
		{"*-5\r\n", "negative array"},
		{"*1\r\n?\r\n", "unexpected byte"},
		{"$" + strings.Repeat("1", 30), "longer than any integer"},
		{"$2097152\r\n", "exceeds the limit of 1048576"},
		{"$99999999999999999\r\n", "exceeds the limit"},
		{"*1001\r\n", "exceeds the limit of 1000"},
		{"*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", "nested deeper than 3"},
	}
	for _, tc := range cases {
		_, _, err := c.Scan([]byte(tc.in))
		var pe *resp.ProtocolError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Scan(%q) = %v; want a *ProtocolError containing %q", tc.in, err, tc.want)
		}
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(resp.AppendCommand(nil, "SET", "k", ""))
	if want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"; got != want {
		t.Fatalf("AppendCommand = %q, want %q", got, want)
	}
}
