//go:build linux

package fileio

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/zerogc/zerogc/fileio/internal/uring"
	"github.com/zerogc/zerogc/vtask"
	"golang.org/x/sys/unix"
)

// abVariant is one way to build an io_uring Reader for an A/B comparison.
type abVariant struct {
	name string
	set  func(on bool) // switches the variant's internal option around New
}

// abCompare measures variants a and b of the io_uring backend against
// each other on a loaded machine: it alternates short bursts of reads on
// the two Readers (order swapped every round) and reports the median, over
// rounds, of b's time per read divided by a's, and the same ratio of the
// CPU time the process used (user + system, io-wq threads included), which
// other processes' load disturbs less. Load that drifts between
// rounds cancels out of each round's ratio, which separate benchmark runs
// cannot offer here.
func abCompare(b *testing.B, a, c abVariant) {
	dir := b.TempDir()
	cold := os.Getenv("FILEIO_AB_COLD") == "1"
	for _, size := range []int{4 << 10, 1 << 20} {
		p := filepath.Join(dir, fmt.Sprint(size))
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			b.Fatal(err)
		}
		unix.Sync()
		for _, inflight := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("%dKiB/inflight=%d", size>>10, inflight), func(b *testing.B) {
				readers := [2]*Reader{}
				for i, v := range []abVariant{a, c} {
					v.set(true)
					r, err := New(WithBackend(Uring), WithMaxInFlight(1024))
					v.set(false)
					if err != nil {
						b.Skip(err)
					}
					defer r.Close()
					readers[i] = r
				}
				reads := max(2*inflight, 8000*4096/size)
				if cold {
					reads = 2 * inflight
				}
				bufs := make([][]byte, min(inflight, 64))
				for i := range bufs {
					bufs[i] = make([]byte, size)
				}
				var ratios, cpuRatios, perA, perB []float64
				for round := range 11 {
					var d, cpu [2]time.Duration
					for k := range 2 {
						i := k ^ round&1
						d[i], cpu[i] = abBurst(b, readers[i], p, bufs, inflight, reads, cold)
					}
					ratios = append(ratios, float64(d[1])/float64(d[0]))
					cpuRatios = append(cpuRatios, float64(cpu[1])/float64(cpu[0]))
					perA = append(perA, float64(d[0].Nanoseconds())/float64(reads))
					perB = append(perB, float64(d[1].Nanoseconds())/float64(reads))
				}
				b.ReportMetric(median(ratios), "time-"+c.name+"/"+a.name)
				b.ReportMetric(median(cpuRatios), "cpu-"+c.name+"/"+a.name)
				b.ReportMetric(median(perA), "ns/read-A-"+a.name)
				b.ReportMetric(median(perB), "ns/read-B-"+c.name)
			})
		}
	}
}

func median(v []float64) float64 {
	slices.Sort(v)
	return v[len(v)/2]
}

// abBurst runs n ReadIntos of path with a window of inflight and returns
// the time they took and the CPU time the process used meanwhile. With
// cold, the file's pages are dropped before each read.
func abBurst(b *testing.B, r *Reader, path string, bufs [][]byte, inflight, n int, cold bool) (time.Duration, time.Duration) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	tasks := make([]vtask.Task[int], inflight)
	ctx := context.Background()
	wait := func(t vtask.Task[int]) {
		if _, err := t.Await(); err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	for i := range n {
		k := i % inflight
		if i >= inflight {
			wait(tasks[k])
		}
		if cold {
			_ = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		}
		tasks[k] = r.ReadInto(ctx, path, bufs[k%len(bufs)])
	}
	for i := max(0, n-inflight); i < n; i++ {
		wait(tasks[i%inflight])
	}
	return time.Since(start), cpuTime() - cpu0
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUringDirectAB: the linked chain on direct descriptors (the
// default where the kernel has them) against the plain path. Run with
// -benchtime=1x; the metric direct/plain is the median ratio of time per
// read.
func BenchmarkUringDirectAB(b *testing.B) {
	if uringNoDirect {
		b.Skip("plain-path run")
	}
	abCompare(b,
		abVariant{"plain", func(on bool) { uringNoDirect = on }},
		abVariant{"direct", func(bool) {}})
}

// BenchmarkUringCoopAB: IORING_SETUP_COOP_TASKRUN against no setup flag.
func BenchmarkUringCoopAB(b *testing.B) {
	abCompare(b,
		abVariant{"none", func(bool) {}},
		abVariant{"coop", func(on bool) {
			uringSetupFlags = 0
			if on {
				uringSetupFlags = uring.SetupCoopTaskrun
			}
		}})
}

// BenchmarkUringChainMaxAB: chains bounded (env FILEIO_AB_CHAINMAX, default
// 32, the default bound) against unbounded (every ReadInto a chain). Each
// backend keeps the bound it was made with.
func BenchmarkUringChainMaxAB(b *testing.B) {
	n := 32
	if v, err := strconv.Atoi(os.Getenv("FILEIO_AB_CHAINMAX")); err == nil {
		n = v
	}
	def := uringChainMax
	abCompare(b,
		abVariant{"unbounded", func(on bool) {
			uringChainMax = def
			if on {
				uringChainMax = 1 << 20
			}
		}},
		abVariant{"bounded", func(on bool) {
			uringChainMax = def
			if on {
				uringChainMax = n
			}
		}})
}

// BenchmarkUringPrefaultAB: large reads with others held on a Reader with
// several rings opened on the caller, whose destination pages are faulted
// in there (mincore, then MADV_POPULATE_WRITE of the pages not resident),
// against handed to the ring unopened. Its buffers are reused, so this
// measures what prefault costs where it finds nothing to do.
func BenchmarkUringPrefaultAB(b *testing.B) {
	abCompare(b,
		abVariant{"unopened", func(on bool) { uringPrefault = !on }},
		abVariant{"prefault", func(bool) {}})
}

// BenchmarkUringAsyncAB: reads of 256 KiB or more handed to io-wq
// (IOSQE_ASYNC; at most 2 × GOMAXPROCS bounded workers) against all reads
// tried inline on the loop thread.
func BenchmarkUringAsyncAB(b *testing.B) {
	abCompare(b,
		abVariant{"inline", func(bool) {}},
		abVariant{"async", func(on bool) {
			uringAsyncMin = 1 << 62
			if on {
				uringAsyncMin = 256 << 10
			}
		}})
}

// BenchmarkUringLockAB: the loop locked to one OS thread against a loop
// the runtime moves between threads.
func BenchmarkUringLockAB(b *testing.B) {
	abCompare(b,
		abVariant{"free", func(on bool) {
			if on {
				uringLockThread = false
			}
		}},
		abVariant{"locked", func(on bool) {
			uringLockThread = on
		}})
}

// BenchmarkUringInlineAB: ReadInto tried inline on the caller first (the
// default, readInline) against every read through the ring.
func BenchmarkUringInlineAB(b *testing.B) {
	abCompare(b,
		abVariant{"ring", func(on bool) { uringInline = !on }},
		abVariant{"inline", func(bool) {}})
}

// BenchmarkUringSpinAB: the idle loop yielding FILEIO_AB_SPIN times
// (default 20) before it sleeps, against sleeping at once; both without
// inline reads, so that every read takes the loop.
func BenchmarkUringSpinAB(b *testing.B) {
	n := 20
	if v, err := strconv.Atoi(os.Getenv("FILEIO_AB_SPIN")); err == nil {
		n = v
	}
	abCompare(b,
		abVariant{"nospin", func(on bool) {
			uringInline, uringSpin = !on, 20
			if on {
				uringSpin = 0
			}
		}},
		abVariant{"spin", func(on bool) {
			uringInline, uringSpin = !on, 20
			if on {
				uringSpin = n
			}
		}})
}

// BenchmarkUringLargeAsyncAB: with other reads in flight, large cached
// reads copied by io-wq threads (openInline, the default) against copied
// inline on the caller (readInline).
func BenchmarkUringLargeAsyncAB(b *testing.B) {
	abCompare(b,
		abVariant{"inline", func(on bool) { uringLargeAsync = !on }},
		abVariant{"iowq", func(bool) {}})
}

// BenchmarkUringDeferAB: the ring set up with SINGLE_ISSUER and
// DEFER_TASKRUN on the loop's locked thread (uringDeferTaskrun) against
// the default (no setup flag, loop not locked). With FILEIO_AB_NOINLINE=1
// both send every read through the ring; with FILEIO_AB_LOCKBASE=1 the
// default's loop is locked too, which leaves the flags as the only
// difference.
func BenchmarkUringDeferAB(b *testing.B) {
	noInline := os.Getenv("FILEIO_AB_NOINLINE") == "1"
	lockBase := os.Getenv("FILEIO_AB_LOCKBASE") == "1"
	abCompare(b,
		abVariant{"default", func(on bool) {
			uringInline = !(on && noInline)
			uringLockThread = on && lockBase
		}},
		abVariant{"defer", func(on bool) {
			uringInline = !(on && noInline)
			uringDeferTaskrun = on
		}})
}

// BenchmarkUringRingsAB: FILEIO_AB_RINGS rings (default 0: one per P),
// each with its own loop, against FILEIO_AB_BASE rings (default 1). With
// FILEIO_AB_RINGSLARGE=0 large reads at depth stay inline on the caller
// on both sides, which leaves the ring count as the only difference.
func BenchmarkUringRingsAB(b *testing.B) {
	n := 0
	if v, err := strconv.Atoi(os.Getenv("FILEIO_AB_RINGS")); err == nil {
		n = v
	}
	base := 1
	if v, err := strconv.Atoi(os.Getenv("FILEIO_AB_BASE")); err == nil {
		base = v
	}
	large := os.Getenv("FILEIO_AB_RINGSLARGE") != "0"
	abCompare(b,
		abVariant{"base", func(on bool) {
			uringRings = 0
			if on {
				uringRings = base
			}
		}},
		abVariant{"rings", func(on bool) {
			uringRings, uringRingsLarge = 0, true
			if on {
				uringRings, uringRingsLarge = n, large
			}
		}})
}
