//go:build linux

package fileio

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/zerogc/zerogc/fileio/internal/uring"
)

// TestUringDeferTaskrun: with uringDeferTaskrun the ring has
// SINGLE_ISSUER and DEFER_TASKRUN (where the kernel has them) and the
// loop is locked to the thread that created it; where setup refuses the
// flags (forced here), the Reader gets a ring without them and still
// works. Either way concurrent reads through the ring, including ones
// canceled, return the files' contents.
func TestUringDeferTaskrun(t *testing.T) {
	dir := t.TempDir()
	var want [3][]byte
	for i := range want {
		want[i] = bytes.Repeat([]byte{byte('a' + i)}, 1000+300000*i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), want[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := uint32(uring.SetupSingleIssuer | uring.SetupDeferTaskrun)
	for _, reject := range []bool{false, true} {
		t.Run(fmt.Sprintf("rejected=%v", reject), func(t *testing.T) {
			if reject {
				uring.SetRejectedFlags(all)
				defer uring.SetRejectedFlags(0)
			}
			saved := uringDeferTaskrun
			uringDeferTaskrun = true
			r, err := New(WithBackend(Uring), WithInlineReads(false), WithMaxInFlight(64))
			uringDeferTaskrun = saved
			if err != nil {
				t.Skip(err)
			}
			defer r.Close()
			be := ring0(r)
			got := be.ring.Flags()
			if !be.lockThread {
				t.Fatal("loop not locked to its thread")
			}
			if reject && got != 0 {
				t.Fatalf("flags refused, yet the ring has %#x", got)
			}
			if !reject && got != all && got != 0 {
				t.Fatalf("ring flags %#x, want %#x (or 0 on an old kernel)", got, all)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 300)
			for g := range 300 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					i := g % 3
					buf := make([]byte, len(want[i]))
					ctx := context.Background()
					if g%7 == 0 {
						c, cancel := context.WithCancel(ctx)
						cancel()
						ctx = c
					}
					n, err := r.ReadInto(ctx, filepath.Join(dir, fmt.Sprint(i)), buf).Await()
					if g%7 == 0 {
						if err == nil && n != len(want[i]) {
							errs <- fmt.Errorf("canceled read: %d bytes", n)
						}
						return
					}
					if err != nil || !bytes.Equal(buf[:n], want[i]) {
						errs <- fmt.Errorf("read %d: n=%d err=%v", i, n, err)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestUringDeferChoice: a Reader gets SINGLE_ISSUER and DEFER_TASKRUN
// exactly when uringDeferTaskrun is set (the child run of
// TestUringDeferTable sets it) and the kernel has them.
func TestUringDeferChoice(t *testing.T) {
	r, err := New(WithBackend(Uring))
	if err != nil {
		t.Skip(err)
	}
	defer r.Close()
	got := ring0(r).ring.Flags()
	if !uringDeferTaskrun && got != 0 {
		t.Fatalf("switch off, yet ring flags %#x", got)
	}
	if uringDeferTaskrun && got == 0 {
		t.Log("switch on, but this kernel refused the flags")
	} else if uringDeferTaskrun && got != uring.SetupSingleIssuer|uring.SetupDeferTaskrun {
		t.Fatalf("switch on: ring flags %#x", got)
	}
	t.Logf("ring flags %#x", got)
}
