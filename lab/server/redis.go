package server

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"unsafe"

	"github.com/valyala/fasthttp"
	"github.com/zerogc/zerogc/resp"
)

// RedisPath is the prefix of the Redis route: GET RedisPath+key answers
// with the value stored at key in Redis, as application/octet-stream, or
// 404 when the key does not exist.
const RedisPath = ValuesPath + "/"

const valueContentType = "application/octet-stream"

var valueContentTypeBytes = []byte(valueContentType)

// valueBufSize is the capacity of the zero flavor's value buffers. A
// larger value is still served; GetInto then allocates memory for it.
const valueBufSize = 4 << 10

// ZeroRedisHandler returns the zero flavor's handler with the Redis route:
// GET /api/values as [ZeroHandler] does, and GET /api/values/{key} with
// the value read from Redis through c.
//
// A request reads its value with c.GetInto into a buffer the handler owns
// for the request (taken from a per-P sync.Pool, so each fasthttp worker
// reuses the same few buffers), copies it into fasthttp's pooled response
// body and gives the buffer back: with values up to 4 KiB it allocates
// nothing per request. The key is not copied out of the request either
// (see redisKey).
//
// The wait for Redis is bounded by the server's life (the RequestCtx is
// the call's context) and by the client's connection failing, not by a
// per-request deadline: context.WithTimeout would allocate on every
// request.
func ZeroRedisHandler(c *resp.Client) fasthttp.RequestHandler {
	h := &zeroRedis{client: c}
	h.bufs.New = func() any {
		b := make([]byte, 0, valueBufSize)
		return &b
	}
	return h.serve
}

type zeroRedis struct {
	client *resp.Client
	bufs   sync.Pool // of *[]byte, len 0, cap valueBufSize
}

func (h *zeroRedis) serve(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	key, ok := bytes.CutPrefix(path, []byte(RedisPath))
	if !ok || len(key) == 0 {
		ZeroHandler(ctx)
		return
	}
	if !ctx.IsGet() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	bp := h.bufs.Get().(*[]byte)
	v, err := h.client.GetInto(ctx, redisKey(key), *bp).AwaitContext(ctx)
	switch {
	case err != nil:
		ctx.Error("redis: "+errText(err), fasthttp.StatusBadGateway)
	case v.IsNull():
		ctx.Error("no such key", fasthttp.StatusNotFound)
	default:
		ctx.SetContentTypeBytes(valueContentTypeBytes)
		ctx.SetBody(v.Str) // copies into the response's pooled buffer
	}
	h.bufs.Put(bp)
}

// redisKey returns the key bytes of the request path as a string without
// copying them. That is sound for a GetInto whose task the handler awaits
// before it returns: fasthttp neither changes nor reuses the request's
// bytes until the handler returns, so the string is immutable for as long
// as anyone can see it (resp copies the key into the command it writes and
// does not keep it past the call).
func redisKey(key []byte) string {
	return unsafe.String(unsafe.SliceData(key), len(key))
}

// errText is err's message; a failed Redis request is rare, so its
// allocations do not matter.
func errText(err error) string {
	var re *resp.Error
	if errors.As(err, &re) {
		return re.Msg
	}
	return err.Error()
}

// DialRedis connects the zero flavor's client to the Redis server at addr
// and checks that it answers PING, so that a wrong address fails at start,
// with a message saying what to do, and not on the first request.
func DialRedis(ctx context.Context, addr string) (*resp.Client, error) {
	c, err := resp.Dial(ctx, addr, resp.Options{})
	if err == nil {
		if _, err = c.Ping(ctx).AwaitContext(ctx); err != nil {
			c.Close()
		}
	}
	if err != nil {
		return nil, errorf("cannot reach Redis at %s: %v (is redis-server running there? zerogc load --redis start starts one)", addr, err)
	}
	return c, nil
}
