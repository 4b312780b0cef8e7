//go:build !unix

package observe

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
