package bench

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// rueidisContender is github.com/redis/rueidis as its README's "Getting
// Started" and "Auto Pipelining" sections show: one rueidis.NewClient with
// default options (auto-pipelining is on by default: concurrent Do calls
// share one connection's pipeline), a command built per call with client.B()
// (the built command is recycled by the client, so never reused), and
// DoMulti for a batch of commands sent together.
func rueidisContender() RedisContender {
	return RedisContender{
		Name: "rueidis",
		Doc:  "`rueidis.NewClient` with default options (auto-pipelining on); `Do(ctx, B().Get().Key(k).Build()).ToString()`; the batch with `DoMulti`",
		Dial: func(addr string) (RedisClient, error) {
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
			if err != nil {
				return nil, fmt.Errorf("rueidis.NewClient(%s): %w", addr, err)
			}
			return &rueidisClient{c: c}, nil
		},
	}
}

type rueidisClient struct{ c rueidis.Client }

func (r *rueidisClient) Close() error { r.c.Close(); return nil }

func (r *rueidisClient) NewSession() RedisSession {
	return &rueidisSession{c: r.c, cmds: make(rueidis.Commands, 0, RedisBatch)}
}

type rueidisSession struct {
	c    rueidis.Client
	cmds rueidis.Commands // reused slice header for DoMulti; the commands in it are built anew
}

func (s *rueidisSession) Get(ctx context.Context, key int) error {
	v, err := s.c.Do(ctx, s.c.B().Get().Key(RedisKey(key)).Build()).ToString()
	if err != nil {
		return err
	}
	return checkValue(key, v)
}

func (s *rueidisSession) Set(ctx context.Context, key int) error {
	return s.c.Do(ctx, s.c.B().Set().Key(RedisKey(key)).Value(RedisValue(key)).Build()).Error()
}

func (s *rueidisSession) GetBatch(ctx context.Context, keys []int) error {
	s.cmds = s.cmds[:0]
	for _, k := range keys {
		s.cmds = append(s.cmds, s.c.B().Get().Key(RedisKey(k)).Build())
	}
	resps := s.c.DoMulti(ctx, s.cmds...)
	clear(s.cmds) // the client owns the built commands now
	for i, r := range resps {
		v, err := r.ToString()
		if err != nil {
			return err
		}
		if err := checkValue(keys[i], v); err != nil {
			return err
		}
	}
	return nil
}

// goRedisContenders are github.com/redis/go-redis/v9: the plain client as
// its README's quickstart shows, with ContextTimeoutEnabled so that a
// context's deadline bounds the call (go-redis's "timeouts" guide: without it
// the client ignores context deadlines and uses its own read/write
// timeouts), its Pipelined API for the batch (the "Pipelines and
// transactions" guide); and its automatic pipelining (v9.22.0+, README
// "Automatic pipelining"): the blocking AutoPipeline face for calls that
// wait one by one, the AsyncAutoPipeline face for a window submitted at once
// and read afterwards, as that README section recommends for each.
func goRedisContenders() []RedisContender {
	return []RedisContender{
		{
			Name: "go-redis",
			Doc:  "`redis.NewClient` (default pool, `ContextTimeoutEnabled: true`); `Get(ctx, k).Result()`; the batch with `Pipelined`",
			Dial: func(addr string) (RedisClient, error) {
				return &goRedisClient{rdb: newGoRedis(addr)}, nil
			},
		},
		{
			Name: "go-redis-auto",
			Doc:  "the same client's experimental automatic pipelining: `rdb.AutoPipeline()` (blocking face) for single calls; the batch on `rdb.AsyncAutoPipeline()` (submit 100, then read each)",
			Dial: func(addr string) (RedisClient, error) {
				rdb := newGoRedis(addr)
				ap, err := rdb.AutoPipeline()
				if err != nil {
					rdb.Close()
					return nil, fmt.Errorf("go-redis AutoPipeline: %w", err)
				}
				async, err := rdb.AsyncAutoPipeline()
				if err != nil {
					ap.Close()
					rdb.Close()
					return nil, fmt.Errorf("go-redis AsyncAutoPipeline: %w", err)
				}
				return &goRedisAutoClient{rdb: rdb, ap: ap, async: async}, nil
			},
		},
	}
}

func newGoRedis(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, ContextTimeoutEnabled: true})
}

type goRedisClient struct{ rdb *goredis.Client }

func (g *goRedisClient) Close() error { return g.rdb.Close() }

func (g *goRedisClient) NewSession() RedisSession {
	return &goRedisSession{goRedisCalls: goRedisCalls{g.rdb}, rdb: g.rdb}
}

// goRedisCalls are the single GET and SET of both go-redis contenders: on
// the plain client, or on the blocking autopipeliner, which has the same
// command methods.
type goRedisCalls struct{ cmd goredis.Cmdable }

func (s goRedisCalls) Get(ctx context.Context, key int) error {
	v, err := s.cmd.Get(ctx, RedisKey(key)).Result()
	if err != nil {
		return err
	}
	return checkValue(key, v)
}

func (s goRedisCalls) Set(ctx context.Context, key int) error {
	return s.cmd.Set(ctx, RedisKey(key), RedisValue(key), 0).Err()
}

type goRedisSession struct {
	goRedisCalls
	rdb *goredis.Client
}

func (s *goRedisSession) GetBatch(ctx context.Context, keys []int) error {
	cmds, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			p.Get(ctx, RedisKey(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, c := range cmds {
		if err := checkValue(keys[i], c.(*goredis.StringCmd).Val()); err != nil {
			return err
		}
	}
	return nil
}

type goRedisAutoClient struct {
	rdb   *goredis.Client
	ap    *goredis.AutoPipeliner // blocking face
	async *goredis.AutoPipeliner // deferred face
}

func (g *goRedisAutoClient) Close() error {
	g.async.Close()
	g.ap.Close()
	return g.rdb.Close()
}

func (g *goRedisAutoClient) NewSession() RedisSession {
	return &goRedisAutoSession{goRedisCalls: goRedisCalls{g.ap}, async: g.async, cmds: make([]*goredis.StringCmd, 0, RedisBatch)}
}

type goRedisAutoSession struct {
	goRedisCalls // on the blocking face
	async        *goredis.AutoPipeliner
	cmds         []*goredis.StringCmd
}

func (s *goRedisAutoSession) GetBatch(ctx context.Context, keys []int) error {
	s.cmds = s.cmds[:0]
	for _, k := range keys {
		s.cmds = append(s.cmds, s.async.Get(ctx, RedisKey(k)))
	}
	defer clear(s.cmds)
	for i, c := range s.cmds {
		v, err := c.Result()
		if err != nil {
			return err
		}
		if err := checkValue(keys[i], v); err != nil {
			return err
		}
	}
	return nil
}
