// Package presets holds the named performance presets (web, api, background) that set the
// defaults for every perfcore setting; APP_PROFILE picks one. The application config starts
// from one of these and then applies the file, environment and flags on top, so a preset is
// only ever a starting point, never an override. (The name keeps "profile" for the user
// profiles of the domain and the PROFILE_* optimizer settings of the design document.)
package presets

import (
	"slices"
	"time"
)

// Settings carries one default for each performance setting the config knows,
// named after its environment variable (GOROUTINE_MIN_WORKERS → MinWorkers,
// CONTEXT_DEFAULT_TIMEOUT → ContextDefaultTimeout, and so on).
type Settings struct {
	// MinWorkers and MaxWorkers bound the goroutine pool; the optimizer
	// resizes pools only inside this range.
	MinWorkers int
	MaxWorkers int
	// QueueSize is how many tasks may wait in a pool before submitters are
	// pushed back.
	QueueSize int
	// IdleTimeout is how long a worker above MinWorkers may sit idle before
	// it exits.
	IdleTimeout time.Duration

	// ContextDefaultTimeout is the deadline given to work whose caller gave
	// none (requests, event listeners); ContextMaxTimeout caps any timeout a
	// caller asks for.
	ContextDefaultTimeout time.Duration
	ContextMaxTimeout     time.Duration
	// ContextEnableDeadline adds the default deadline only when the caller's
	// context has none.
	ContextEnableDeadline bool

	// MemoryPoolSize is how many idle encoders the API's response-body pool
	// (mempool.JSONPool) keeps for reuse; MemorySlabSize is the capacity in
	// bytes each encoder's buffer starts with (buffers beyond 8 slabs are
	// not kept); MemoryCleanupInterval is how often encoders left idle for a
	// whole interval are released.
	MemoryPoolSize        int
	MemorySlabSize        int
	MemoryCleanupInterval time.Duration

	// ProfileSamplingInterval is how often the optimizer reads runtime
	// metrics; ProfileOptimizationInterval is the window in which it may act
	// at most ProfileMaxOptimizations times.
	ProfileSamplingInterval     time.Duration
	ProfileOptimizationInterval time.Duration
	ProfileMaxOptimizations     int
}

// Why these numbers: web serves latency-sensitive pages that mostly wait on
// the database, so it keeps a warm pool and short deadlines; api takes more
// concurrent short calls with tighter deadlines and re-tunes faster;
// background favours throughput over latency, so it has few standing workers,
// a deep queue, long deadlines and a slow, cautious optimizer.
var presets = map[string]Settings{
	"web": {
		MinWorkers:                  4,
		MaxWorkers:                  64,
		QueueSize:                   1024,
		IdleTimeout:                 30 * time.Second,
		ContextDefaultTimeout:       10 * time.Second,
		ContextMaxTimeout:           30 * time.Second,
		ContextEnableDeadline:       true,
		MemoryPoolSize:              1024,
		MemorySlabSize:              64 << 10,
		MemoryCleanupInterval:       5 * time.Minute,
		ProfileSamplingInterval:     time.Second,
		ProfileOptimizationInterval: 10 * time.Second,
		ProfileMaxOptimizations:     3,
	},
	"api": {
		MinWorkers:                  8,
		MaxWorkers:                  128,
		QueueSize:                   4096,
		IdleTimeout:                 60 * time.Second,
		ContextDefaultTimeout:       5 * time.Second,
		ContextMaxTimeout:           15 * time.Second,
		ContextEnableDeadline:       true,
		MemoryPoolSize:              4096,
		MemorySlabSize:              32 << 10,
		MemoryCleanupInterval:       2 * time.Minute,
		ProfileSamplingInterval:     500 * time.Millisecond,
		ProfileOptimizationInterval: 5 * time.Second,
		ProfileMaxOptimizations:     5,
	},
	"background": {
		MinWorkers:                  2,
		MaxWorkers:                  32,
		QueueSize:                   16384,
		IdleTimeout:                 5 * time.Minute,
		ContextDefaultTimeout:       5 * time.Minute,
		ContextMaxTimeout:           30 * time.Minute,
		ContextEnableDeadline:       false,
		MemoryPoolSize:              256,
		MemorySlabSize:              256 << 10,
		MemoryCleanupInterval:       10 * time.Minute,
		ProfileSamplingInterval:     5 * time.Second,
		ProfileOptimizationInterval: 30 * time.Second,
		ProfileMaxOptimizations:     2,
	},
}

// Get returns the preset called name and whether it exists. The result is a
// copy: changing it does not change the preset.
func Get(name string) (Settings, bool) {
	s, ok := presets[name]
	return s, ok
}

// Names returns the preset names in sorted order, for help texts and error
// messages that list what is allowed.
func Names() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
