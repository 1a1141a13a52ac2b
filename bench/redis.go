package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// RedisKeys is the number of keys every Redis workload reads and writes:
// the same keys, loaded once into the same server, for every contender.
const RedisKeys = 1000

// RedisValueSize is the length in bytes of every value.
const RedisValueSize = 64

// RedisBatch is the number of GETs in flight at once in the batch workload.
const RedisBatch = 100

var (
	redisKeys       [RedisKeys]string
	redisValues     [RedisKeys]string
	redisValueBytes [RedisKeys][]byte // for clients whose SET takes bytes
)

func init() {
	for i := range RedisKeys {
		redisKeys[i] = fmt.Sprintf("bench:key:%04d", i)
		v := fmt.Sprintf("value-of-%04d:", i)
		redisValues[i] = v + strings.Repeat("x", RedisValueSize-len(v))
		redisValueBytes[i] = []byte(redisValues[i])
	}
}

// RedisKey returns the name of key i (0 <= i < RedisKeys).
func RedisKey(i int) string { return redisKeys[i] }

// RedisValue returns the value key i holds: every SET of the workloads
// writes it again, so every GET can check its reply.
func RedisValue(i int) string { return redisValues[i] }

// ErrWrongValue is returned (wrapped) by a RedisSession whose GET got a
// reply other than RedisValue of its key: a broken adapter, never a timing
// effect, so the benchmarks stop on it.
var ErrWrongValue = errors.New("GET returned the wrong value")

// wrongValue builds the ErrWrongValue error for key; got is the reply.
func wrongValue(key int, got string) error {
	return fmt.Errorf("%w: key %s: got %.20q…, want %.20q…", ErrWrongValue, RedisKey(key), got, RedisValue(key))
}

// checkValue returns nil when got is key's value, else an ErrWrongValue error.
func checkValue(key int, got string) error {
	if got != redisValues[key] {
		return wrongValue(key, got)
	}
	return nil
}

// RedisSession is what one goroutine of a Redis workload calls: each
// goroutine has its own session, so a session may keep per-goroutine
// buffers. A session is used by one goroutine at a time.
type RedisSession interface {
	// Get sends GET RedisKey(key) and checks that the reply is
	// RedisValue(key) (an ErrWrongValue error otherwise).
	Get(ctx context.Context, key int) error
	// Set sends SET RedisKey(key) RedisValue(key).
	Set(ctx context.Context, key int) error
	// GetBatch puts a GET of every key in flight at once, waits for all of
	// them, and checks every reply. len(keys) <= RedisBatch.
	GetBatch(ctx context.Context, keys []int) error
}

// RedisClient is one contender's client, connected to the server.
type RedisClient interface {
	// NewSession returns a session for one goroutine.
	NewSession() RedisSession
	// Close releases the client's connections and goroutines.
	Close() error
}

// RedisContender is one Redis client, used the way its documentation
// recommends.
type RedisContender struct {
	// Name is the sub-benchmark name: short, with no spaces.
	Name string
	// Doc says how the client is used, with the documentation it follows.
	Doc string
	// Dial connects a client to the server at addr (host:port).
	Dial func(addr string) (RedisClient, error)
}

// RedisBaseline is the contender every Redis throughput is compared with.
const RedisBaseline = "rueidis"

// RedisContenders returns every Redis contender, the baseline first.
func RedisContenders() []RedisContender {
	cs := []RedisContender{rueidisContender()}
	cs = append(cs, goRedisContenders()...)
	cs = append(cs, zerogcRedisContenders()...)
	return cs
}

// LoadRedisKeys writes every key with its value into the server at addr,
// over a plain connection (no contender's code), in one pipeline.
func LoadRedisKeys(addr string) error {
	c, err := DialRaw(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	for i := range RedisKeys {
		c.Send("SET", RedisKey(i), RedisValue(i))
	}
	for i := range RedisKeys {
		reply, err := c.Receive()
		if err != nil {
			return fmt.Errorf("loading key %s into %s: %w", RedisKey(i), addr, err)
		}
		if reply != "OK" {
			return fmt.Errorf("loading key %s into %s: reply %q, want OK", RedisKey(i), addr, reply)
		}
	}
	return nil
}

// RawConn is a minimal RESP2 connection written for the harness: it loads
// the keys and lets the tests check what the server holds without going
// through any contender.
type RawConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

// DialRaw connects a RawConn to addr, with a 10 s deadline for the whole
// exchange.
func DialRaw(addr string) (*RawConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connecting to redis-server at %s: %w", addr, err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &RawConn{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}, nil
}

// Close closes the connection.
func (c *RawConn) Close() error { return c.conn.Close() }

// Send buffers one command; the next Receive (or Do) sends what is
// buffered.
func (c *RawConn) Send(args ...string) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
}

// Do sends one command and returns its reply: a simple string, a bulk
// string, an integer as text, or "(nil)" for a nil bulk string. A server
// error is returned as an error.
func (c *RawConn) Do(args ...string) (string, error) {
	c.Send(args...)
	return c.Receive()
}

// Receive sends the buffered commands, if any, and reads one reply (see
// Do).
func (c *RawConn) Receive() (string, error) {
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return "", err
		}
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("server error: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "(nil)", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("unexpected reply %q (RawConn reads simple, error, integer and bulk replies only)", line)
	}
}
