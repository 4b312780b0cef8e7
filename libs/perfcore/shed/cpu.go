package shed

import (
	"sync"
	"time"
)

// processCPU reads the process's CPU share: CPU time used over wall time × GOMAXPROCS since
// the previous reading, refreshed at most every 250ms (between refreshes the last share is
// returned, so Allow stays cheap).
type processCPU struct {
	now func() time.Time

	mu       sync.Mutex
	lastWall time.Time
	lastCPU  time.Duration
	last     float64
}

func newProcessCPU(now func() time.Time) *processCPU {
	p := &processCPU{now: now}
	p.lastCPU, _ = processTime()
	p.lastWall = now()
	return p
}

const cpuRefresh = 250 * time.Millisecond

func (p *processCPU) share() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	wall := p.now()
	if wall.Sub(p.lastWall) < cpuRefresh {
		return p.last
	}
	cpu, ok := processTime()
	if !ok {
		return 0
	}
	elapsed := wall.Sub(p.lastWall)
	p.last = min(float64(cpu-p.lastCPU)/(float64(elapsed)*float64(procs())), 1)
	p.lastWall, p.lastCPU = wall, cpu
	return p.last
}
