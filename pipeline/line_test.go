package pipeline_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/zerogc/zerogc/pipeline"
	"github.com/zerogc/zerogc/vtask"
)

// The test protocol: a request is "<tag> <payload>\n"; its reply is the
// same line ("<tag> <payload>\n"), or "<tag> !<message>\n" for an error.
// FIFO connections send tag 0 and ignore the reply's tag.

// lineCodec decodes the replies of the test protocol into a []byte.
type lineCodec struct{}

var errBadLine = errors.New("line: reply without a tag")

func (lineCodec) Scan(buf []byte) (int, uint32, error) {
	i := bytes.IndexByte(buf, '\n')
	if i < 0 {
		if len(buf) > 1<<20 {
			return 0, 0, errors.New("line: reply longer than 1 MiB")
		}
		return 0, 0, nil
	}
	sp := bytes.IndexByte(buf[:i], ' ')
	if sp < 0 {
		return 0, 0, errBadLine
	}
	tag, err := strconv.ParseUint(string(buf[:sp]), 10, 32)
	if err != nil {
		return 0, 0, errBadLine
	}
	return i + 1, uint32(tag), nil
}

// errorReply is the error of a "!" reply.
type errorReply struct{ msg string }

func (e *errorReply) Error() string { return "server: " + e.msg }

func (lineCodec) Decode(buf []byte, dst *[]byte) error {
	sp := bytes.IndexByte(buf, ' ')
	payload := buf[sp+1 : len(buf)-1]
	if len(payload) > 0 && payload[0] == '!' {
		return &errorReply{string(payload[1:])}
	}
	*dst = append((*dst)[:0], payload...)
	return nil
}

// call submits one request with payload and decodes its reply into dst.
func call(ctx context.Context, c *pipeline.Conn[[]byte], payload []byte, dst []byte) vtask.Task[[]byte] {
	req, err := c.Begin(ctx)
	if err != nil {
		return vtask.FromError[[]byte](err)
	}
	req.Buf = strconv.AppendUint(req.Buf, uint64(req.Tag), 10)
	req.Buf = append(req.Buf, ' ')
	req.Buf = append(req.Buf, payload...)
	req.Buf = append(req.Buf, '\n')
	return c.Commit(req, dst[:0])
}

// lineServer is an in-process server of the test protocol.
type lineServer struct {
	ln net.Listener
	// reorder answers the lines of each read in reverse order (a tagged
	// protocol may).
	reorder bool
	// split writes every reply one byte at a time.
	split bool
	// gate, if set, is received from before each reply is written.
	gate     chan struct{}
	gateOnce sync.Once

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startLineServer(t testing.TB, configure func(*lineServer)) *lineServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &lineServer{ln: ln}
	if configure != nil {
		configure(s)
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

func (s *lineServer) Addr() string { return s.ln.Addr().String() }

// Dial is a pipeline.Dialer to the server.
func (s *lineServer) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", s.Addr())
}

func (s *lineServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *lineServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	r := bufio.NewReader(c)
	// The lines of one read, kept in one reused buffer, so that the
	// server allocates nothing per line (allocation tests count it too).
	var data []byte
	var ends []int
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		data = append(data, line...)
		ends = append(ends, len(data))
		if r.Buffered() > 0 && s.reorder {
			continue // collect the lines of this read
		}
		for k := range ends {
			if s.reorder {
				k = len(ends) - 1 - k
			}
			start := 0
			if k > 0 {
				start = ends[k-1]
			}
			l := data[start:ends[k]]
			if s.gate != nil {
				<-s.gate // a closed gate lets everything through
			}
			if s.split {
				for i := range l {
					if _, err := c.Write(l[i : i+1]); err != nil {
						return
					}
				}
			} else if _, err := c.Write(l); err != nil {
				return
			}
		}
		data, ends = data[:0], ends[:0]
	}
}

// DropConns closes every connection the server has accepted.
func (s *lineServer) DropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// OpenGate lets every reply through from now on.
func (s *lineServer) OpenGate() {
	if s.gate != nil {
		s.gateOnce.Do(func() { close(s.gate) })
	}
}

func (s *lineServer) Close() {
	s.ln.Close()
	s.DropConns()
	s.OpenGate()
	s.wg.Wait()
}

func dialLine(t testing.TB, s *lineServer, opts pipeline.Options) *pipeline.Conn[[]byte] {
	t.Helper()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := pipeline.NewConn[[]byte](nc, lineCodec{}, opts)
	t.Cleanup(func() { c.Close() })
	return c
}
