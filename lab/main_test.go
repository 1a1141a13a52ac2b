package lab

import (
	"os"
	"testing"

	"github.com/zerogc/zerogc/lab/server"
)

// TestMain lets the test binary serve as the child server that Run starts.
func TestMain(m *testing.M) {
	server.RunChildIfRequested()
	os.Exit(m.Run())
}
