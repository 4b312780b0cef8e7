package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// observeJobs is River worker middleware that reports each job's run time and outcome (the
// worker's /debug/perf counts its jobs the way the API's counts its requests).
type observeJobs struct {
	river.MiddlewareDefaults
	observe func(d time.Duration, failed bool)
	now     func() time.Time
}

var _ rivertype.WorkerMiddleware = (*observeJobs)(nil)

func (m *observeJobs) Work(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	start := m.now()
	err := doInner(ctx)
	m.observe(m.now().Sub(start), err != nil)
	return err
}
