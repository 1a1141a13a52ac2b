package resp

import (
	"strconv"
	"strings"
)

// Type is the type of a RESP2 value.
type Type uint8

// The types of RESP2 values.
const (
	// Null is the null bulk string ($-1) or null array (*-1): a missing
	// key for GET, a missing element of MGET.
	Null Type = iota
	// SimpleString is a status reply such as OK or PONG (+).
	SimpleString
	// ErrorString is an error inside an array (-), as EXEC returns. An
	// error that is the whole reply is the call's error, an *Error.
	ErrorString
	// Integer is an integer reply (:).
	Integer
	// BulkString is a binary-safe string ($).
	BulkString
	// Array is an array of values (*).
	Array
)

// String returns the type's name.
func (t Type) String() string {
	switch t {
	case Null:
		return "Null"
	case SimpleString:
		return "SimpleString"
	case ErrorString:
		return "ErrorString"
	case Integer:
		return "Integer"
	case BulkString:
		return "BulkString"
	case Array:
		return "Array"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Value is a decoded reply.
//
// Its bytes live in the buffer the caller gave the call (GetInto, DoInto,
// MGetInto), or in memory allocated for it when the caller gave none or a
// buffer too small. A simple string of the common kind (OK, PONG, QUEUED)
// refers to a shared, read-only copy instead: do not modify it.
type Value struct {
	Type Type
	// Int is the value of an Integer, and the number of elements of an
	// Array.
	Int int64
	// Str holds the bytes of a SimpleString, BulkString or ErrorString.
	// For an Array it holds the bytes of all its elements, which their
	// own Str slice.
	Str []byte
	// Array holds the elements of an Array.
	Array []Value
}

// IsNull reports whether v is a null reply (a missing key).
func (v Value) IsNull() bool { return v.Type == Null }

// String formats v for people: a string's bytes, an integer in decimal,
// an array in brackets, a null as (nil). It allocates; the hot path does
// not need it.
func (v Value) String() string {
	switch v.Type {
	case Null:
		return "(nil)"
	case Integer:
		return strconv.FormatInt(v.Int, 10)
	case Array:
		var b strings.Builder
		b.WriteByte('[')
		for i, e := range v.Array {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(e.String())
		}
		b.WriteByte(']')
		return b.String()
	}
	return string(v.Str)
}

// Error is a server's error reply (-ERR ..., -WRONGTYPE ...): the error of
// the call it answers. Test for it with errors.As.
type Error struct {
	// Msg is the message as the server sent it, such as
	// "WRONGTYPE Operation against a key holding the wrong kind of value".
	Msg string
}

// Error returns the server's message, marked as the server's.
func (e *Error) Error() string { return "redis: " + e.Msg }

// Prefix returns the first word of the message, the error's kind by
// convention: "ERR", "WRONGTYPE", "MOVED", ...
func (e *Error) Prefix() string {
	if i := strings.IndexByte(e.Msg, ' '); i >= 0 {
		return e.Msg[:i]
	}
	return e.Msg
}

// ProtocolError is a reply the codec cannot parse, or that exceeds its
// limits; the connection fails with it (wrapped in a *pipeline.ConnError),
// since the rest of the stream cannot be trusted.
type ProtocolError struct {
	Msg string
}

// Error says what was wrong.
func (e *ProtocolError) Error() string { return "resp: protocol error: " + e.Msg }
