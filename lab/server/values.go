// Package server is the lab's sample Web API, the seed's GET /api/values
// returning ["<current time>","value2"], in two flavors: NetHTTP (the
// standard net/http server and ServeMux, written the idiomatic way) and
// Zero (fasthttp with a handler that allocates nothing and performs one
// vtask operation per request). It also runs the API as a child process
// whose memory the load tool measures alone, with a control channel that
// reports the child's runtime metrics and single-request allocation
// profiles without allocating itself.
package server

import "time"

// ValuesPath is the route of the sample API.
const ValuesPath = "/api/values"

// TimeLayout is the layout of the time in the response: RFC 3339 in UTC
// with milliseconds. [AppendTime] writes the same text without allocating.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTime appends t in UTC formatted as [TimeLayout]
// ("2006-01-02T15:04:05.000Z") to dst. It allocates only if dst lacks the
// 24 bytes of capacity it needs. Years outside 0..9999 are clamped.
func AppendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	year = min(max(year, 0), 9999)
	dst = appendInt(dst, year, 4)
	dst = append(dst, '-')
	dst = appendInt(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendInt(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendInt(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendInt(dst, sec, 2)
	dst = append(dst, '.')
	dst = appendInt(dst, ms, 3)
	return append(dst, 'Z')
}

// appendInt appends v, which must be non-negative, zero-padded to width digits.
func appendInt(dst []byte, v, width int) []byte {
	var b [8]byte
	i := len(b)
	for w := 0; w < width || v > 0; w++ {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[i:]...)
}

// AppendValues appends the API's response body for time t to dst:
// ["<t as TimeLayout>","value2"] and a newline, byte for byte what the
// NetHTTP flavor's json.Encoder writes.
func AppendValues(dst []byte, t time.Time) []byte {
	dst = append(dst, `["`...)
	dst = AppendTime(dst, t)
	return append(dst, `","value2"]`+"\n"...)
}
