package resp

import (
	"bytes"
	"strconv"
)

// Limits bound what the codec accepts from a server. A reply beyond them
// fails the connection with a *ProtocolError before any memory is reserved
// for it. The zero value selects the defaults.
type Limits struct {
	// MaxBulk is the longest bulk string accepted, in bytes. Default
	// 512 MiB, Redis's own proto-max-bulk-len.
	MaxBulk int
	// MaxArray is the largest array accepted, in elements. Default
	// 16 Mi.
	MaxArray int
	// MaxDepth is the deepest nesting of arrays accepted. Default 32.
	MaxDepth int
}

const (
	defaultMaxBulk  = 512 << 20
	defaultMaxArray = 16 << 20
	defaultMaxDepth = 32
	// maxHeader is the longest header line ("$<len>\r\n", "*<n>\r\n",
	// ":<int>\r\n") the codec waits for: an int64 has at most 20 digits.
	maxHeader = 24
)

func (l Limits) withDefaults() Limits {
	if l.MaxBulk <= 0 {
		l.MaxBulk = defaultMaxBulk
	}
	if l.MaxArray <= 0 {
		l.MaxArray = defaultMaxArray
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	return l
}

// Codec reads RESP2 replies: it implements pipeline.Codec[Value]. Make one
// with NewCodec; the zero Codec has no limits set and refuses everything.
type Codec struct {
	lim Limits
}

// NewCodec returns a Codec with the given limits.
func NewCodec(l Limits) *Codec { return &Codec{lim: l.withDefaults()} }

// shape is what scanning a reply learns: its length, and how many array
// elements and bytes of strings decoding it stores.
type shape struct {
	n, elems, data int
}

// Scan reports the length of the complete reply at the start of buf, or 0
// if buf holds only part of one; RESP is FIFO, so the tag is always 0. A
// malformed reply, or one beyond the limits, is a *ProtocolError. Scan
// writes nothing.
func (c *Codec) Scan(buf []byte) (n int, tag uint32, err error) {
	sh, err := c.scan(buf, 0)
	return sh.n, 0, err
}

// scan scans the value at the start of b, at nesting depth.
func (c *Codec) scan(b []byte, depth int) (shape, error) {
	if len(b) == 0 {
		return shape{}, nil
	}
	switch b[0] {
	case '+', '-':
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(b) > c.lim.MaxBulk {
				return shape{}, &ProtocolError{Msg: "a simple string or error line is longer than MaxBulk; the stream is probably not RESP"}
			}
			return shape{}, nil
		}
		if i < 1 || b[i-1] != '\r' {
			return shape{}, &ProtocolError{Msg: "a line ends in \\n without \\r"}
		}
		if b[0] == '+' && interned(b[1:i-1]) != nil {
			return shape{n: i + 1}, nil // needs no room in the caller's buffer
		}
		return shape{n: i + 1, data: i - 2}, nil
	case ':':
		_, hl, err := header(b)
		if err != nil || hl == 0 {
			return shape{}, err
		}
		return shape{n: hl}, nil
	case '$':
		l, hl, err := header(b)
		if err != nil || hl == 0 {
			return shape{}, err
		}
		switch {
		case l == -1:
			return shape{n: hl}, nil
		case l < 0:
			return shape{}, &ProtocolError{Msg: "negative bulk string length " + strconv.FormatInt(l, 10)}
		case l > int64(c.lim.MaxBulk):
			return shape{}, &ProtocolError{Msg: "bulk string of " + strconv.FormatInt(l, 10) + " bytes exceeds the limit of " + strconv.Itoa(c.lim.MaxBulk) + " (raise Limits.MaxBulk if that is expected)"}
		}
		end := hl + int(l) + 2
		if len(b) < end {
			return shape{}, nil
		}
		if b[end-2] != '\r' || b[end-1] != '\n' {
			return shape{}, &ProtocolError{Msg: "bulk string not followed by \\r\\n: its length is wrong"}
		}
		return shape{n: end, data: int(l)}, nil
	case '*':
		cnt, hl, err := header(b)
		if err != nil || hl == 0 {
			return shape{}, err
		}
		switch {
		case cnt == -1:
			return shape{n: hl}, nil
		case cnt < 0:
			return shape{}, &ProtocolError{Msg: "negative array length " + strconv.FormatInt(cnt, 10)}
		case cnt > int64(c.lim.MaxArray):
			return shape{}, &ProtocolError{Msg: "array of " + strconv.FormatInt(cnt, 10) + " elements exceeds the limit of " + strconv.Itoa(c.lim.MaxArray) + " (raise Limits.MaxArray if that is expected)"}
		case depth >= c.lim.MaxDepth:
			return shape{}, &ProtocolError{Msg: "arrays nested deeper than " + strconv.Itoa(c.lim.MaxDepth)}
		}
		sh := shape{n: hl, elems: int(cnt)}
		for range cnt {
			e, err := c.scan(b[sh.n:], depth+1)
			if err != nil || e.n == 0 {
				return shape{}, err
			}
			sh.n += e.n
			sh.elems += e.elems
			sh.data += e.data
		}
		return sh, nil
	}
	return shape{}, &ProtocolError{Msg: "unexpected byte " + strconv.QuoteRune(rune(b[0])) + " where a reply starts (want one of + - : $ *)"}
}

// header parses the integer of the header line at the start of b, after
// its type byte, and returns it with the line's length; hl is 0 if the
// line is incomplete.
func header(b []byte) (v int64, hl int, err error) {
	i := bytes.IndexByte(b[:min(len(b), maxHeader)], '\n')
	if i < 0 {
		if len(b) >= maxHeader {
			return 0, 0, &ProtocolError{Msg: "a header line is longer than any integer: " + strconv.Quote(string(b[:maxHeader]))}
		}
		return 0, 0, nil
	}
	if b[i-1] != '\r' {
		return 0, 0, &ProtocolError{Msg: "a line ends in \\n without \\r"}
	}
	v, ok := parseInt(b[1 : i-1])
	if !ok {
		return 0, 0, &ProtocolError{Msg: "not an integer: " + strconv.Quote(string(b[1:i-1]))}
	}
	return v, i + 1, nil
}

// parseInt parses a decimal int64 without allocating.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		u = u*10 + uint64(ch-'0')
	}
	switch {
	case !neg && u > 1<<63-1, neg && u > 1<<63:
		return 0, false
	case neg:
		return -int64(u), true
	}
	return int64(u), true
}

// Shared copies of the common simple strings, so that decoding them needs
// no buffer.
var (
	strOK     = []byte("OK")
	strPONG   = []byte("PONG")
	strQUEUED = []byte("QUEUED")
)

// interned returns the shared copy of the simple string s, or nil if s is
// not one of the common ones.
func interned(s []byte) []byte {
	switch string(s) {
	case "OK":
		return strOK
	case "PONG":
		return strPONG
	case "QUEUED":
		return strQUEUED
	}
	return nil
}

// Decode decodes the complete reply buf (as found by Scan) into dst. dst's
// Str and Array are the caller's buffers: the bytes of strings are stored
// in Str's capacity and the elements of arrays in Array's, which are
// replaced with larger ones, allocated, only if they are too small. An
// error reply is returned as an *Error, and dst is left empty.
func (c *Codec) Decode(buf []byte, dst *Value) error {
	sh, err := c.scan(buf, 0)
	switch {
	case err != nil:
		return err
	case sh.n != len(buf):
		return &ProtocolError{Msg: "Decode was given " + strconv.Itoa(len(buf)) + " bytes for a reply of " + strconv.Itoa(sh.n)}
	}
	if buf[0] == '-' {
		msg := buf[1 : len(buf)-2]
		*dst = Value{}
		return &Error{Msg: string(msg)}
	}
	data, elems := dst.Str[:0], dst.Array[:0]
	if cap(data) < sh.data {
		data = make([]byte, 0, sh.data)
	}
	if cap(elems) < sh.elems {
		elems = make([]Value, 0, sh.elems)
	}
	var v Value
	decodeValue(buf, &v, &data, &elems)
	if v.Type == Array {
		v.Str = data
	}
	*dst = v
	return nil
}

// decodeValue decodes the scanned, valid value at the start of b into v,
// appending its strings' bytes to data and its arrays' elements to elems,
// whose capacity the caller reserved: nothing is reallocated, so the
// slices stored in v stay valid. It returns the value's length.
func decodeValue(b []byte, v *Value, data *[]byte, elems *[]Value) int {
	switch b[0] {
	case '+', '-':
		i := bytes.IndexByte(b, '\n')
		s := b[1 : i-1]
		*v = Value{Type: SimpleString}
		if b[0] == '-' {
			v.Type = ErrorString
		}
		if v.Type == SimpleString {
			v.Str = interned(s)
		}
		if v.Str == nil {
			v.Str = appendData(data, s)
		}
		return i + 1
	case ':':
		n, hl, _ := header(b)
		*v = Value{Type: Integer, Int: n}
		return hl
	case '$':
		l, hl, _ := header(b)
		if l < 0 {
			*v = Value{Type: Null}
			return hl
		}
		*v = Value{Type: BulkString, Str: appendData(data, b[hl:hl+int(l)])}
		return hl + int(l) + 2
	}
	// '*'
	cnt, hl, _ := header(b)
	if cnt < 0 {
		*v = Value{Type: Null}
		return hl
	}
	start := len(*elems)
	*elems = (*elems)[:start+int(cnt)]
	arr := (*elems)[start : start+int(cnt) : start+int(cnt)]
	*v = Value{Type: Array, Int: cnt, Array: arr}
	n := hl
	for i := range arr {
		n += decodeValue(b[n:], &arr[i], data, elems)
	}
	return n
}

// appendData appends s to data, within its reserved capacity, and returns
// the appended part, capped so that appending to it cannot overwrite what
// follows.
func appendData(data *[]byte, s []byte) []byte {
	start := len(*data)
	*data = append(*data, s...)
	return (*data)[start:len(*data):len(*data)]
}
