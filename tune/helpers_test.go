package tune

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// startServer starts a Server on a free loopback port and stops it when
// the test ends.
func startServer(t *testing.T, opt Options) *Server {
	t.Helper()
	srv, err := NewServer(Config{Runner: opt})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv
}
