//go:build unix

package shed

import (
	"runtime"
	"syscall"
	"time"
)

func processTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

func procs() int { return runtime.GOMAXPROCS(0) }
