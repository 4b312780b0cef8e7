package main

import (
	"context"
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/startup"
)

// jobQueue opens the job queue. It always inserts (services enqueue in their transactions);
// it also works the jobs in this process when JOBS_IN_PROCESS says so — the embedded default,
// where `go run ./apps/api` is the whole system — and the schema is current.
func jobQueue(ctx context.Context, cfg *config.Config, db *bun.DB, log *slog.Logger) (*jobs.Queue, error) {
	if !cfg.JobsInProcess() {
		return startup.OpenQueue(ctx, cfg, db, log, nil)
	}
	// Workers need River's tables; a database waiting for `migrate up` gets none yet.
	if st, err := data.CheckSchema(ctx, db); err != nil || !st.UpToDate() {
		log.Warn("not running jobs in-process until the schema is current", "schema", st.String(), "err", err)
		return startup.OpenQueue(ctx, cfg, db, log, nil)
	}
	workers, periodic, err := conduitjobs.Work(conduitjobs.Deps{DB: db, Logger: log})
	if err != nil {
		return nil, err
	}
	return startup.OpenQueue(ctx, cfg, db, log, &startup.Work{Workers: workers, Periodic: periodic})
}
