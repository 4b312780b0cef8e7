package cache

// MaxLost is how many lost invalidations the Redis driver remembers one by one.
const MaxLost = maxLost
