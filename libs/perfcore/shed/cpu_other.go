//go:build !unix

package shed

import (
	"runtime"
	"time"
)

// processTime is unknown here: the shedder then never counts the CPU as saturated.
func processTime() (time.Duration, bool) { return 0, false }

func procs() int { return runtime.GOMAXPROCS(0) }
