package resp

import "strconv"

// Commands are encoded as RESP arrays of bulk strings, straight into the
// connection's write buffer.

func appendArrayLen(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// appendBulk appends s as a bulk string.
func appendBulk[S string | []byte](b []byte, s S) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

func appendBulkInt(b []byte, v int64) []byte {
	var digits [20]byte
	return appendBulk(b, strconv.AppendInt(digits[:0], v, 10))
}

// AppendCommand appends the RESP encoding of the command args (an array of
// bulk strings) to b: for a caller that writes commands itself.
func AppendCommand(b []byte, args ...string) []byte {
	b = appendArrayLen(b, len(args))
	for _, a := range args {
		b = appendBulk(b, a)
	}
	return b
}
