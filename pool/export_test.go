package pool

// PerPActive reports whether this build uses the private slots of PerP
// pools (it does not under the race detector).
const PerPActive = pinning

// BatchRing exposes the batch queue of PerPCache pools to the tests.
type BatchRing[T any] struct{ r *batchRing[T] }

// NewBatchRing returns a batch queue of at least cells batches.
func NewBatchRing[T any](cells int) BatchRing[T] { return BatchRing[T]{newBatchRing[T](cells)} }

// Put adds src (at most BatchSize objects) as one batch.
func (b BatchRing[T]) Put(src []*T) bool { return b.r.put(src) }

// Get moves one batch into dst, which has room for BatchSize.
func (b BatchRing[T]) Get(dst []*T) int { return b.r.get(dst) }

// BatchSize is the most objects a batch holds.
const BatchSize = batchSize
