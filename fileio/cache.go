package fileio

import "sync"

// cache holds whole-file contents up to a byte budget. Entries are
// evicted in no particular order when a new one does not fit.
type cache struct {
	mu   sync.RWMutex
	max  int64
	used int64
	m    map[string][]byte
}

func newCache(max int64) *cache { return &cache{max: max, m: make(map[string][]byte)} }

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

// copyTo copies the cached contents of path into buf (as much as fits).
func (c *cache) copyTo(path string, buf []byte) (int, bool) {
	c.mu.RLock()
	b, ok := c.m[path]
	n := copy(buf, b)
	c.mu.RUnlock()
	return n, ok
}

// put stores a copy of b for path if it fits the budget.
func (c *cache) put(path string, b []byte) {
	size := int64(len(b))
	if size > c.max {
		return
	}
	cp := make([]byte, len(b))
	copy(cp, b)
	c.mu.Lock()
	defer c.mu.Unlock()
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
	if old, ok := c.m[path]; ok {
		c.used -= int64(len(old))
		delete(c.m, path)
	}
	c.mu.Unlock()
}

func (c *cache) purge() {
	c.mu.Lock()
	clear(c.m)
	c.used = 0
	c.mu.Unlock()
}
