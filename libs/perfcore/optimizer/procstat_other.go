//go:build !unix

package optimizer

import "time"

// processCPU is not available here; the sampler then relies on the runtime's
// /cpu/classes counters alone.
func processCPU() (time.Duration, bool) { return 0, false }
