package fileio

// FreeOps returns the number of ops on r's free list, ready for reuse.
func (r *Reader) FreeOps() int {
	r.free.mu.Lock()
	defer r.free.mu.Unlock()
	return len(r.free.ops)
}
