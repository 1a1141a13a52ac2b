package bench

import (
	"context"
	"fmt"

	"github.com/zerogc/zerogc/resp"
	"github.com/zerogc/zerogc/vtask"
)

// zerogcRedisContenders is this repository's client, package resp, as its
// documentation recommends for zero allocations: resp.Dial with default
// Options (one pipelined connection: concurrent calls share its writes and
// reads), GetInto with a buffer the caller owns and reuses, Set with the
// value's bytes, every task consumed with AwaitContext(ctx) on the call's
// own ctx (so a deadline bounds the wait for the reply too), and the batch
// as RedisBatch GetInto tasks, each into its own buffer, joined by
// vtask.WhenAll into a reused results slice.
func zerogcRedisContenders() []RedisContender {
	return []RedisContender{{
		Name: "zerogc",
		Doc:  "`resp.Dial` with default options; `GetInto(ctx, k, buf).AwaitContext(ctx)` into a reused caller buffer; `Set(ctx, k, v, SetOptions{})`; the batch as 100 `GetInto` tasks joined by `vtask.WhenAll`",
		Dial: func(addr string) (RedisClient, error) {
			c, err := resp.Dial(context.Background(), addr, resp.Options{})
			if err != nil {
				return nil, err
			}
			return &zerogcClient{c: c}, nil
		},
	}}
}

type zerogcClient struct{ c *resp.Client }

func (z *zerogcClient) Close() error { return z.c.Close() }

// zerogcBufSize is each value buffer's capacity: room for a value with
// margin, so a reply never needs memory of its own.
const zerogcBufSize = 2 * RedisValueSize

func (z *zerogcClient) NewSession() RedisSession {
	s := &zerogcSession{
		c:       z.c,
		buf:     make([]byte, 0, zerogcBufSize),
		tasks:   make([]vtask.Task[resp.Value], 0, RedisBatch),
		results: make([]resp.Value, RedisBatch),
	}
	backing := make([]byte, RedisBatch*zerogcBufSize)
	for i := range s.bufs {
		s.bufs[i] = backing[i*zerogcBufSize : i*zerogcBufSize : (i+1)*zerogcBufSize]
	}
	return s
}

type zerogcSession struct {
	c       *resp.Client
	buf     []byte             // Get's value buffer
	bufs    [RedisBatch][]byte // one per GET of a batch
	tasks   []vtask.Task[resp.Value]
	results []resp.Value
}

// checkReply checks a GET reply: a bulk string holding key's value.
func checkReply(key int, v resp.Value) error {
	if v.Type != resp.BulkString {
		return fmt.Errorf("GET %s: reply of type %v, want a bulk string", RedisKey(key), v.Type)
	}
	if string(v.Str) != redisValues[key] { // compared in place: no allocation
		return wrongValue(key, string(v.Str))
	}
	return nil
}

func (s *zerogcSession) Get(ctx context.Context, key int) error {
	v, err := s.c.GetInto(ctx, RedisKey(key), s.buf).AwaitContext(ctx)
	if err != nil {
		return err
	}
	return checkReply(key, v)
}

func (s *zerogcSession) Set(ctx context.Context, key int) error {
	_, err := s.c.Set(ctx, RedisKey(key), redisValueBytes[key], resp.SetOptions{}).AwaitContext(ctx)
	return err
}

func (s *zerogcSession) GetBatch(ctx context.Context, keys []int) error {
	s.tasks = s.tasks[:0]
	for i, k := range keys {
		s.tasks = append(s.tasks, s.c.GetInto(ctx, RedisKey(k), s.bufs[i]))
	}
	res, err := vtask.WhenAll(s.tasks, s.results).AwaitContext(ctx)
	clear(s.tasks) // WhenAll took them over
	if err != nil {
		return err
	}
	for i, v := range res {
		if err := checkReply(keys[i], v); err != nil {
			return err
		}
	}
	return nil
}
