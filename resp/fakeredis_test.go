package resp_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// fakeRedis is an in-process RESP2 server, for fast unit tests and for the
// examples: PING, ECHO, GET, SET (its options are parsed, expiry is not
// kept), DEL, INCR, MGET, and hooks for tests:
//
//	FAKE.RAW <bytes>   writes <bytes> as the reply, verbatim
//	FAKE.SLEEP <ms>    replies +OK after ms milliseconds
//	FAKE.CLOSE         closes the connection without a reply
type fakeRedis struct {
	ln net.Listener

	mu    sync.Mutex
	data  map[string][]byte
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func startFakeRedis() *fakeRedis {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := &fakeRedis{ln: ln, data: map[string][]byte{}, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *fakeRedis) Addr() string { return s.ln.Addr().String() }

func (s *fakeRedis) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *fakeRedis) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

// readCommand reads one command, an array of bulk strings, into args.
func readCommand(r *bufio.Reader, args [][]byte) ([][]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 4 || line[0] != '*' {
		return nil, errors.New("fake: not an array")
	}
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil {
		return nil, err
	}
	args = args[:0]
	for range n {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if line[0] != '$' {
			return nil, errors.New("fake: not a bulk string")
		}
		l, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return nil, err
		}
		b := make([]byte, l+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args = append(args, b[:l])
	}
	return args, nil
}

func (s *fakeRedis) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	var args [][]byte
	for {
		var err error
		args, err = readCommand(r, args)
		if err != nil {
			return
		}
		if !s.exec(w, args) {
			w.Flush()
			return
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func writeBulk(w *bufio.Writer, b []byte) {
	if b == nil {
		w.WriteString("$-1\r\n")
		return
	}
	w.WriteString("$" + strconv.Itoa(len(b)) + "\r\n")
	w.Write(b)
	w.WriteString("\r\n")
}

// exec runs one command; false closes the connection.
func (s *fakeRedis) exec(w *bufio.Writer, args [][]byte) bool {
	if len(args) == 0 {
		w.WriteString("-ERR empty command\r\n")
		return true
	}
	name := strings.ToUpper(string(args[0]))
	wrongArgs := func() {
		w.WriteString("-ERR wrong number of arguments for '" + strings.ToLower(name) + "' command\r\n")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case "PING":
		w.WriteString("+PONG\r\n")
	case "ECHO":
		if len(args) != 2 {
			wrongArgs()
			break
		}
		writeBulk(w, args[1])
	case "GET":
		if len(args) != 2 {
			wrongArgs()
			break
		}
		writeBulk(w, s.data[string(args[1])])
	case "SET":
		if len(args) < 3 {
			wrongArgs()
			break
		}
		nx, xx := false, false
		for i := 3; i < len(args); i++ {
			switch strings.ToUpper(string(args[i])) {
			case "NX":
				nx = true
			case "XX":
				xx = true
			case "EX", "PX":
				i++
				if i == len(args) {
					w.WriteString("-ERR syntax error\r\n")
					return true
				}
				if n, err := strconv.Atoi(string(args[i])); err != nil || n <= 0 {
					w.WriteString("-ERR invalid expire time in 'set' command\r\n")
					return true
				}
			case "KEEPTTL":
			default:
				w.WriteString("-ERR syntax error\r\n")
				return true
			}
		}
		_, exists := s.data[string(args[1])]
		if (nx && exists) || (xx && !exists) {
			w.WriteString("$-1\r\n")
			break
		}
		s.data[string(args[1])] = append([]byte(nil), args[2]...)
		w.WriteString("+OK\r\n")
	case "DEL":
		n := 0
		for _, k := range args[1:] {
			if _, ok := s.data[string(k)]; ok {
				delete(s.data, string(k))
				n++
			}
		}
		w.WriteString(":" + strconv.Itoa(n) + "\r\n")
	case "INCR":
		if len(args) != 2 {
			wrongArgs()
			break
		}
		v := int64(0)
		if old, ok := s.data[string(args[1])]; ok {
			var err error
			if v, err = strconv.ParseInt(string(old), 10, 64); err != nil {
				w.WriteString("-ERR value is not an integer or out of range\r\n")
				break
			}
		}
		v++
		s.data[string(args[1])] = strconv.AppendInt(nil, v, 10)
		w.WriteString(":" + strconv.FormatInt(v, 10) + "\r\n")
	case "MGET":
		w.WriteString("*" + strconv.Itoa(len(args)-1) + "\r\n")
		for _, k := range args[1:] {
			writeBulk(w, s.data[string(k)])
		}
	case "FAKE.RAW":
		w.Write(args[1])
	case "FAKE.SLEEP":
		ms, _ := strconv.Atoi(string(args[1]))
		s.mu.Unlock()
		time.Sleep(time.Duration(ms) * time.Millisecond)
		s.mu.Lock()
		w.WriteString("+OK\r\n")
	case "FAKE.CLOSE":
		return false
	default:
		w.WriteString("-ERR unknown command '" + string(args[0]) + "'\r\n")
	}
	return true
}
