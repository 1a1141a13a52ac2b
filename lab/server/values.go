// Package server is the lab's sample Web API, the seed's GET /api/values
// returning ["<current time>","value2"], in two flavors: NetHTTP (the
// standard net/http server and ServeMux, written the idiomatic way) and
// Zero (fasthttp with a handler that allocates nothing and performs one
// vtask operation per request), and the Redis route GET
// /api/values/{key} (ZeroRedisHandler: the value read with package resp
// into a buffer the handler owns; the nethttp flavor of that route uses
// go-redis and lives in the bench module, see RunHTTPChildIfRequested).
// It also runs the API as a child process
// whose memory the load tool measures alone, with a control channel that
// reports the child's runtime metrics and single-request allocation
// profiles without allocating itself.
package server

import "time"

// ValuesPath is the route of the sample API.
const ValuesPath = "/api/values"

// TimeLayout is the layout of the time in the response: RFC 3339 in UTC
// with milliseconds. [AppendTime] writes it without allocating.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTime appends t in UTC formatted as [TimeLayout]
// ("2006-01-02T15:04:05.000Z") to dst, exactly as t.UTC().Format(TimeLayout)
// would. It is time.Time.AppendFormat, which allocates nothing when dst has
// the capacity (24 bytes for years 0..9999).
func AppendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, TimeLayout)
}

// AppendValues appends the API's response body for time t to dst:
// ["<t as TimeLayout>","value2"] and a newline, byte for byte what the
// NetHTTP flavor's json.Encoder writes.
func AppendValues(dst []byte, t time.Time) []byte {
	dst = append(dst, `["`...)
	dst = AppendTime(dst, t)
	return append(dst, `","value2"]`+"\n"...)
}
