package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// Flavor names a server implementation of the sample API.
type Flavor string

// The sample API's flavors.
const (
	// NetHTTP is the standard library's net/http server and ServeMux with
	// an idiomatic handler (json.Encoder, time.Format).
	NetHTTP Flavor = "nethttp"
	// Zero is fasthttp with a handler that allocates nothing per request.
	Zero Flavor = "zero"
)

// ParseFlavor returns the flavor named s, or an error that lists the names.
func ParseFlavor(s string) (Flavor, error) {
	switch Flavor(s) {
	case NetHTTP, Zero:
		return Flavor(s), nil
	}
	return "", errorf("unknown flavor %q: use %q or %q", s, NetHTTP, Zero)
}

const contentType = "application/json; charset=utf-8"

// NetHTTPHandler returns the NetHTTP flavor's handler: a ServeMux routing
// GET /api/values to a handler written the way most Go services write it.
func NetHTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ValuesPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		values := []string{time.Now().UTC().Format(TimeLayout), "value2"}
		if err := json.NewEncoder(w).Encode(values); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return mux
}

var contentTypeBytes = []byte(contentType)

// ZeroHandler is the Zero flavor's fasthttp handler. For GET /api/values it
// renders the body into a stack buffer through one vtask operation (see
// render) and copies it into fasthttp's reused response buffer: no heap
// allocation per request. Other paths get 404, other methods 405.
//
//zerogc:noalloc
func ZeroHandler(ctx *fasthttp.RequestCtx) {
	// The string conversion in a comparison does not allocate.
	//zerogc:allow fasthttp parses the URI into the request's reused buffers: no allocation once warm (lab's AllocsPerRun test measures the handler)
	if string(ctx.Path()) != ValuesPath {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	//zerogc:allow IsGet fills the header's reused method buffer only when the request had no method
	if !ctx.IsGet() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	//zerogc:allow copies into the response header's reused buffer
	ctx.SetContentTypeBytes(contentTypeBytes)
	if err := render(ctx); err != nil {
		//zerogc:allow the error path
		ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
	}
}

// renderValues writes the response body for the current time into ctx.
// It is a top-level function so that passing it to vtask.RunWith with ctx
// as its state allocates no closure.
func renderValues(ctx *fasthttp.RequestCtx) (int, error) {
	var buf [64]byte
	//zerogc:allow AppendValues writes 39 bytes into the 64-byte stack buffer: append never grows it
	b := AppendValues(buf[:0], time.Now())
	//zerogc:allow copies into the response's reused body buffer
	ctx.SetBody(b) // copies into the response's pooled buffer
	return len(b), nil
}
