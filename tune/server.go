package tune

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

//go:generate sh -c "cd web && npm ci --no-audit --no-fund && npm run build"

//go:embed assets
var assetsFS embed.FS

// Config configures a Server.
type Config struct {
	// Addr is where to listen (default "127.0.0.1:0": a free port). Only
	// loopback addresses are accepted: the server builds and runs code.
	Addr string
	// Token is the secret every API request must carry in its
	// X-Tune-Token header (default: 128 random bits). The page gets it
	// from the fragment of its address (#token=...), which a browser never
	// sends to a server, and keeps it in memory and sessionStorage; no
	// cookie ever carries it.
	Token string
	// Runner sets the limits of the runs.
	Runner Options
}

// Server is the tune web server: the page, its assets and the JSON API.
type Server struct {
	runner  *Runner
	token   string
	ln      net.Listener
	port    string
	hosts   map[string]bool // Host header values that name this server
	origins map[string]bool // Origin header values of this server's page
	hub     hub
	http    *http.Server
	// base is the context of every request; Shutdown cancels it first,
	// which stops a run at once and ends the event streams.
	base       context.Context
	cancelBase context.CancelFunc
}

// NewServer listens on cfg.Addr and returns a server ready to Serve.
func NewServer(cfg Config) (*Server, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %v (give host:port, such as 127.0.0.1:8080)", addr, err)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("address %q is not a loopback address: tune runs the code it is sent, so it listens on 127.0.0.1, ::1 or localhost only", addr)
		}
	}
	token := cfg.Token
	if token == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		token = hex.EncodeToString(b[:])
	}
	runner, err := NewRunner(cfg.Runner)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		runner.Close()
		return nil, err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &Server{
		runner:  runner,
		token:   token,
		ln:      ln,
		port:    port,
		hosts:   map[string]bool{},
		origins: map[string]bool{},
	}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		s.hosts[h+":"+port] = true
		s.origins["http://"+h+":"+port] = true
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.http = &http.Server{
		Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.base },
	}
	return s, nil
}

// URL returns the address to open, with the token in its fragment.
func (s *Server) URL() string {
	host := "127.0.0.1"
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok && a.IP.To4() == nil && a.IP.IsLoopback() {
		host = "[::1]"
	}
	return "http://" + host + ":" + s.port + "/#token=" + s.token
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Token returns the secret that requests must carry.
func (s *Server) Token() string { return s.token }

// Serve serves until Shutdown. It returns http.ErrServerClosed after a
// Shutdown.
func (s *Server) Serve() error {
	return s.http.Serve(s.ln)
}

// Runner returns the server's runner.
func (s *Server) Runner() *Runner { return s.runner }

// Shutdown stops the server: it stops the run in progress at once (its
// answer says so), ends the event streams, waits for the requests in
// progress until ctx ends and removes the build directory.
func (s *Server) Shutdown(ctx context.Context) error {
	s.runner.Stop("tune is shutting down")
	s.cancelBase()
	s.hub.close()
	err := s.http.Shutdown(ctx)
	if err != nil {
		// Closing the connections cancels the request of a run in
		// progress, which kills its child; wait for it to let go of the
		// build directory.
		_ = s.http.Close()
		for deadline := time.Now().Add(10 * time.Second); s.runner.busy.Load() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if cerr := s.runner.Close(); err == nil {
		err = cerr
	}
	return err
}

// Handler returns the server's routes behind its access checks.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	assets, _ := fs.Sub(assetsFS, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /favicon.ico", s.favicon)
	api := http.NewServeMux()
	api.HandleFunc("GET /api/samples", s.samples)
	api.HandleFunc("GET /api/info", s.info)
	api.HandleFunc("POST /api/run", s.run)
	api.HandleFunc("POST /api/stop", s.stop)
	api.HandleFunc("GET /api/events", s.events)
	api.HandleFunc("POST /api/ssa", s.ssa) // ssa.go
	mux.Handle("/api/", s.needToken(api))
	return s.guard(mux)
}

// guard rejects requests that do not come from this server's own page:
// a Host that is not this server's (DNS rebinding), an Origin of another
// site and cross-site fetches. The page and its assets are public (they
// are in the repository); the API needs the token as well (needToken).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if !s.hosts[r.Host] {
			http.Error(w, "forbidden: the Host header "+fmt.Sprintf("%q", r.Host)+" does not name this server; open http://127.0.0.1:"+s.port+"/", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !s.origins[o] {
			http.Error(w, "forbidden: cross-origin request from "+fmt.Sprintf("%q", o), http.StatusForbidden)
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			http.Error(w, "forbidden: cross-site request", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// needToken lets through the requests that carry the token in the
// X-Tune-Token header, and nothing else: not a cookie, not a query
// parameter. A browser adds neither a header nor a fragment to a request
// by itself, so nothing another local server could receive lets it in.
func (s *Server) needToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("X-Tune-Token"); h != "" && s.tokenOK(h) {
			next.ServeHTTP(w, r)
			return
		}
		writeJSON(w, http.StatusForbidden, apiError{"forbidden: the zerogc tune API needs its token in the X-Tune-Token header; open the address zerogc tune printed (http://127.0.0.1:" + s.port + "/#token=...)"})
	})
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := assetsFS.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'")
	_, _ = w.Write(b)
}

func (s *Server) samples(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Samples())
}

// favicon is the page's icon, so that the browser's request for it does
// not end in a 404.
func (s *Server) favicon(w http.ResponseWriter, r *http.Request) {
	b, err := assetsFS.ReadFile("assets/favicon.svg")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write(b)
}

// Info is the answer of GET /api/info: the runner's limits and how its
// sandbox protects the machine on this kernel.
type Info struct {
	Protections []Protection `json:"protections"`
	TimeoutMs   int64        `json:"timeoutMs"`
	MemoryLimit int64        `json:"memoryLimit"`
	MaxProcs    int          `json:"maxProcs"`
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	o := s.runner.Options()
	writeJSON(w, http.StatusOK, Info{Protections: s.runner.Protections(), TimeoutMs: o.Timeout.Milliseconds(), MemoryLimit: o.MemoryLimit, MaxProcs: o.MaxProcs})
}

// stop stops the run in progress (the Stop button).
func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"stopped": s.runner.Stop("stopped from the page (Stop)")})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type apiError struct {
	Error string `json:"error"`
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{"send the request as JSON with Content-Type: application/json"})
		return
	}
	var req Request
	if !decodeSnippetRequest(w, r, &req, &req.Code, "a run request", ` (expected {"code": "...", "input": "...", "mode": "release"|"debug"}, with "bench": true, "count", "benchtime" and "baseline" for a benchmark run, and "knobs": {"gogc", "gomemlimit", "gomaxprocs", "godebug", "gcflags"})`) {
		return
	}
	res, err := s.runner.Run(r.Context(), req, s.hub.publish)
	answer(w, res, err)
}

// events streams the live events of runs as server-sent events.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, cancel := s.hub.subscribe()
	if ch == nil {
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, ": zerogc tune events\n\n")
	fl.Flush()
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			_, _ = io.WriteString(w, ": keep-alive\n\n")
			fl.Flush()
		case ev, ok := <-ch:
			if !ok {
				return
			}
			b, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b); err != nil {
				return
			}
			// Send what is queued in one write.
			for n := len(ch); n > 0; n-- {
				ev, ok := <-ch
				if !ok {
					break
				}
				b, _ := json.Marshal(ev)
				_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Type, b)
			}
			fl.Flush()
		}
	}
}

// hub fans live events out to the event streams. A slow stream loses
// events rather than slowing the run down; the final answer of
// POST /api/run carries everything.
type hub struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

func (h *hub) subscribe() (chan Event, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil
	}
	if h.subs == nil {
		h.subs = map[chan Event]struct{}{}
	}
	ch := make(chan Event, 4096)
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *hub) publish(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// decodeSnippetRequest reads a JSON request of a snippet (a run or SSA
// request) into req, whose code is *code, refusing unknown fields and an
// empty snippet with a 400 that says what was expected. It reports whether
// the request can be served.
func decodeSnippetRequest(w http.ResponseWriter, r *http.Request, req any, code *string, what, expected string) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 2*maxCodeBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"the body is not " + what + ": " + err.Error() + expected})
		return false
	}
	if strings.TrimSpace(*code) == "" {
		writeJSON(w, http.StatusBadRequest, apiError{`"code" is empty: send the snippet's Go source`})
		return false
	}
	return true
}

// answer writes the answer to a snippet request: res, or 409 while another
// run holds the runner, or 400 with the error of a request that cannot run.
func answer(w http.ResponseWriter, res any, err error) {
	switch {
	case errors.Is(err, ErrBusy):
		writeJSON(w, http.StatusConflict, apiError{err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}
