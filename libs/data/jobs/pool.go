package jobs

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// runOnPool is River worker middleware that runs each job's work as a task of a perfcore
// pool. River's MaxWorkers bounds how many jobs are fetched and held; the pool bounds how many
// use the CPU at once (its size is what the runtime optimizer tunes), runs them in priority
// order (River priority 1 → High, 2 → Normal, 3 and 4 → Low), and counts them in the pool's
// metrics, so the worker's dashboard shows its jobs as pool tasks.
type runOnPool struct {
	river.MiddlewareDefaults
	p *pool.Pool
}

var _ rivertype.WorkerMiddleware = (*runOnPool)(nil)

func (m *runOnPool) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	prio := pool.Normal
	switch {
	case job.Priority <= 1:
		prio = pool.High
	case job.Priority >= 3:
		prio = pool.Low
	}
	_, err := pool.Submit(ctx, m.p, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, doInner(ctx)
	}, prio).Await(ctx)
	return err
}
