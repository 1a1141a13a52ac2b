package fileio

import (
	"sync"
	"sync/atomic"
)

// cache holds whole-file contents up to a byte budget. Entries are
// evicted in no particular order when a new one does not fit.
//
// Only ReadFile fills it, and only with a regular file whose contents
// had exactly the size the file reported (see op.end), so /proc and sysfs
// files, FIFOs and devices are never cached.
//
// A fill carries the generation it started in: Forget and Purge move the
// generation on, and put refuses a fill from an older one, so contents
// read before a Forget or Purge never land in the cache after it.
type cache struct {
	mu   sync.RWMutex
	max  int64
	used int64
	m    map[string][]byte

	// gen changes only with mu held for writing, and put compares it with
	// mu held for writing: a fill whose generation is not current cannot
	// be stored, whatever the order of the loads.
	gen atomic.Uint64
}

func newCache(max int64) *cache { return &cache{max: max, m: make(map[string][]byte)} }

// generation returns the generation a fill starting now must carry. It is
// read before the file is opened.
func (c *cache) generation() uint64 { return c.gen.Load() }

// get returns a private copy of the cached contents of path.
func (c *cache) get(path string) ([]byte, bool) {
	c.mu.RLock()
	b, ok := c.m[path]
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	out := make([]byte, len(b))
	copy(out, b)
	return out, true
}

// copyTo copies the cached contents of path into buf (as much as fits)
// and reports whether they were cached and whether they did not fit.
func (c *cache) copyTo(path string, buf []byte) (n int, ok, truncated bool) {
	c.mu.RLock()
	b, ok := c.m[path]
	n = copy(buf, b)
	c.mu.RUnlock()
	return n, ok, len(b) > len(buf)
}

// put stores a copy of b for path if it fits the budget and no Forget or
// Purge happened since the fill's generation gen.
func (c *cache) put(path string, b []byte, gen uint64) {
	size := int64(len(b))
	if size > c.max {
		return
	}
	cp := make([]byte, len(b))
	copy(cp, b)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if old, ok := c.m[path]; ok {
		c.used -= int64(len(old))
		delete(c.m, path)
	}
	for k, v := range c.m {
		if c.used+size <= c.max {
			break
		}
		c.used -= int64(len(v))
		delete(c.m, k)
	}
	c.m[path] = cp
	c.used += size
}

func (c *cache) forget(path string) {
	c.mu.Lock()
	c.gen.Add(1)
	if old, ok := c.m[path]; ok {
		c.used -= int64(len(old))
		delete(c.m, path)
	}
	c.mu.Unlock()
}

func (c *cache) purge() {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.m)
	c.used = 0
	c.mu.Unlock()
}
