package cache

// MaxLost is how many lost invalidations the Redis driver remembers one by one.
const MaxLost = maxLost

// Replaying says whether c's Redis driver is replaying lost invalidations right now.
func Replaying(c *Cache) bool {
	d, ok := c.drv.(*redisDriver)
	return ok && d.replaying.Load()
}
