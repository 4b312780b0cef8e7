package jobs

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// failureLog logs every failed attempt of a job with its kind, id, attempt and error: WARN
// while River will retry it, ERROR when this was the last attempt and the job is discarded.
// River's own lines about it stay below the log's floor (riverLogger), so without this a job
// could fail for minutes (a deadlock on every try) and leave no trace.
type failureLog struct{ log *slog.Logger }

func (f failureLog) attrs(job *rivertype.JobRow) (slog.Level, []any) {
	level := slog.LevelWarn
	final := job.Attempt >= job.MaxAttempts
	if final {
		level = slog.LevelError
	}
	return level, []any{
		"job_kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts,
		"queue", job.Queue, "discarded", final,
	}
}

func (f failureLog) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	level, attrs := f.attrs(job)
	f.log.Log(ctx, level, "job failed", append(attrs, "err", err.Error())...)
	return nil
}

func (f failureLog) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	level, attrs := f.attrs(job)
	f.log.Log(ctx, level, "job panicked", append(attrs, "panic", panicVal, "trace", trace)...)
	return nil
}
