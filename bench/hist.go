package bench

import (
	"math/bits"
	"time"
)

// histSub is the number of sub-buckets per power of two: 16, so a recorded
// duration is known to within 1/16 (6.25 %).
const (
	histSubBits = 4
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// Hist is a fixed-size latency histogram with log-linear buckets: exact
// below 16 ns, then 16 buckets per power of two. Recording does not
// allocate, so it can sit inside a benchmark loop. The zero value is empty
// and ready. A Hist is not safe for concurrent use.
type Hist struct {
	counts [histBuckets]uint64
	n      uint64
}

// Reset empties h.
func (h *Hist) Reset() { *h = Hist{} }

// Count returns the number of recorded durations.
func (h *Hist) Count() uint64 { return h.n }

// Record adds one duration; negative durations count as zero.
func (h *Hist) Record(d time.Duration) {
	h.counts[histIndex(d)]++
	h.n++
}

func histIndex(d time.Duration) int {
	if d < histSub {
		if d < 0 {
			return 0
		}
		return int(d)
	}
	v := uint64(d)
	e := bits.Len64(v) - 1 // e >= histSubBits
	sub := int(v>>(e-histSubBits)) & (histSub - 1)
	return (e-histSubBits+1)*histSub + sub
}

// histLow returns the smallest duration that falls in bucket i.
func histLow(i int) time.Duration {
	if i < histSub {
		return time.Duration(i)
	}
	e := i/histSub + histSubBits - 1
	sub := uint64(i % histSub)
	return time.Duration((histSub + sub) << (e - histSubBits))
}

// Quantile returns the duration below which a fraction q (0 < q <= 1) of
// the recorded durations fall, as the middle of its bucket. It returns 0 for
// an empty histogram.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++
	}
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo := histLow(i)
			if i+1 < histBuckets {
				return lo + (histLow(i+1)-lo)/2
			}
			return lo
		}
	}
	return histLow(histBuckets - 1)
}

// Merge adds every duration recorded in o to h.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}
