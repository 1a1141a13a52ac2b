//go:build !linux

// Package uring is a minimal io_uring ring; io_uring exists only on Linux,
// so on this system New always fails.
package uring

import "errors"

// ErrUnavailable wraps every reason io_uring cannot be used on this system.
var ErrUnavailable = errors.New("io_uring unavailable")

// Ring is not available on this system.
type Ring struct{}

// New reports that io_uring does not exist on this operating system.
func New(entries uint32) (*Ring, error) {
	return nil, errors.Join(ErrUnavailable, errors.New("io_uring exists only on Linux"))
}
