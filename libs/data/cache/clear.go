package cache

import (
	"context"
	"fmt"
)

// Clear removes every entry of this cache: the memory driver empties itself; the Redis driver
// deletes only the keys under its prefix (other apps' keys on the same Redis stay). A running
// instance's memory cache can only be cleared from inside it: the API exposes this on its
// admin listener (POST /cache/clear) for `api cache clear` and `api seed`.
func (c *Cache) Clear(ctx context.Context) error {
	var err error
	switch d := c.drv.(type) {
	case *memory:
		d.clearAll()
	case *redisDriver:
		err = d.wipe(ctx)
	default:
		err = fmt.Errorf("driver %s cannot be cleared", c.drv.name())
	}
	if err != nil {
		return fmt.Errorf("cache: clear: %w", err)
	}
	return nil
}

func (m *memory) clearAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.c.InvalidateAll()
	clear(m.tags)
	clear(m.pruneSize)
}
