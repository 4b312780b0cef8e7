package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
)

// background opens the cache (Redis with REDIS_URL, else memory) and the job queue. The queue
// always inserts (services enqueue in their transactions); it also works the jobs in this
// process when JOBS_IN_PROCESS says so — the embedded default, where `go run ./apps/api` is
// the whole system. stop releases both, letting running jobs finish within JOBS_JOB_TIMEOUT.
func background(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger) (*cache.Cache, *jobs.Queue, func(), error) {
	c, err := cache.Open(ctx, cfg.RedisURL, cache.Options{DefaultTTL: cfg.Cache.TTL, Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	qc := jobs.Config{
		DB: db, URL: cfg.Database.URL, Logger: log,
		MaxWorkers: cfg.Jobs.MaxWorkers, JobTimeout: cfg.Jobs.JobTimeout, RescueAfter: cfg.Jobs.RescueAfter,
	}
	work := cfg.JobsInProcess()
	if work {
		// Workers need River's tables; a database waiting for `migrate up` gets none yet.
		if st, err := data.CheckSchema(ctx, db); err != nil || !st.UpToDate() {
			log.Warn("not running jobs in-process until the schema is current", "schema", st.String(), "err", err)
			work = false
		}
	}
	if work {
		workers := river.NewWorkers()
		if err := conduitjobs.Register(workers, conduitjobs.Deps{DB: db, Logger: log}); err != nil {
			_ = c.Close()
			return nil, nil, nil, err
		}
		qc.Workers, qc.PeriodicJobs = workers, conduitjobs.PeriodicJobs()
	}
	q, err := jobs.New(ctx, qc)
	if err != nil {
		_ = c.Close()
		return nil, nil, nil, err
	}
	if err := q.Start(ctx); err != nil {
		_ = c.Close()
		return nil, nil, nil, err
	}
	log.Info("background ready", "cache", c.Driver(), "jobs_in_process", work)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Jobs.JobTimeout)
		defer cancel()
		if err := errors.Join(q.Stop(sctx), c.Close()); err != nil {
			log.Warn("stop background", "err", err)
		}
	}
	return c, q, stop, nil
}
