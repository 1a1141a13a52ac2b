//go:build linux

package fileio

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestUringStatx covers the IORING_OP_STATX way of sizing whole files.
func TestUringStatx(t *testing.T) {
	uringStatx = true
	r, err := New(WithBackend(Uring))
	uringStatx = false
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	if !r.be.(*uringBackend).statx {
		t.Fatal("statx path not selected")
	}
	dir := t.TempDir()
	for _, size := range []int{0, 1, 4096, 5 << 20} {
		want := bytes.Repeat([]byte{'z'}, size)
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadFile(context.Background(), p).Await()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: got %d bytes, %v", size, len(got), err)
		}
	}
	if _, err := r.ReadFile(context.Background(), "/proc/self/maps").Await(); err != nil {
		t.Fatal(err)
	}
}
