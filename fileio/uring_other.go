//go:build !linux

package fileio

import "github.com/zerogc/zerogc/fileio/internal/uring"

// sysState is the per-op scratch of the portable workers backend.
type sysState struct{}

func newUring(r *Reader, slots, rings int) (backend, error) {
	_, err := uring.New(0)
	return nil, err
}

func multiRing(backend) bool { return false }
