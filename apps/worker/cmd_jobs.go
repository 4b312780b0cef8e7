package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/spf13/cobra"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/startup"
)

type configured = func(fn func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error) func(*cobra.Command, []string) error

// jobsCommand is `jobs`: look at the queue and move jobs by hand.
func jobsCommand(withConfig configured, stdout io.Writer) *cobra.Command {
	cmd := startup.Group(&cobra.Command{
		Use:   "jobs",
		Short: "List, count, retry and cancel background jobs",
		Example: "  worker jobs list\n  worker jobs list discarded retryable\n  worker jobs stats\n" +
			"  worker jobs retry 42\n  worker jobs retry --all-failed\n  worker jobs cancel 42",
	})
	// withQueue opens the database and a queue that only manages jobs, then runs fn.
	withQueue := func(fn func(ctx context.Context, db *bun.DB, q *jobs.Queue, args []string) error) func(*cobra.Command, []string) error {
		return withConfig(func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) (err error) {
			db, err := startup.OpenDatabase(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, db.Close()) }()
			q, err := queue(ctx, cfg, db, log)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, q.Stop(context.WithoutCancel(ctx))) }()
			return fn(ctx, db, q, args)
		})
	}
	jobID := func(cmd *cobra.Command, arg string) (int64, error) {
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return 0, startup.Usage(cmd, "%s: %q is not a job ID", cmd.CommandPath(), arg)
		}
		return n, nil
	}

	list := &cobra.Command{
		Use:   "list [STATE…]",
		Short: "List the newest 100 jobs in the given states",
		Long: "List the newest 100 jobs in the given states (default: available, scheduled, retryable,\n" +
			"running, discarded). States: " + fmt.Sprint(rivertype.JobStates()) + ".",
		Example: "  worker jobs list\n  worker jobs list discarded",
	}
	list.RunE = withQueue(func(ctx context.Context, _ *bun.DB, q *jobs.Queue, args []string) error {
		states := []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
			rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateDiscarded}
		if len(args) > 0 {
			states = states[:0]
			valid := map[rivertype.JobState]bool{}
			for _, s := range rivertype.JobStates() {
				valid[s] = true
			}
			for _, s := range args {
				if !valid[rivertype.JobState(s)] {
					return startup.Usage(list, "jobs list: unknown state %q", s)
				}
				states = append(states, rivertype.JobState(s))
			}
		}
		rows, err := q.List(ctx, 100, states...)
		if err != nil {
			return err
		}
		return printJobs(stdout, rows)
	})

	var allFailed bool
	retry := &cobra.Command{
		Use:   "retry ID | --all-failed",
		Short: "Make a job available again, or every failed (discarded) one",
		Long: "Put a job (or, with --all-failed, every discarded one) back in the available state: it runs\n" +
			"again as soon as a worker of its queue is free.",
		Example: "  worker jobs retry 42\n" +
			"  worker jobs retry --all-failed",
		Args: startup.Args(func(cmd *cobra.Command, args []string) error {
			if allFailed {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		}),
	}
	retry.Flags().BoolVar(&allFailed, "all-failed", false, "retry every discarded job")
	retry.RunE = withQueue(func(ctx context.Context, _ *bun.DB, q *jobs.Queue, args []string) error {
		if allFailed {
			n, err := retryAllFailed(ctx, q)
			_, werr := fmt.Fprintf(stdout, "retried %d failed jobs\n", n)
			return errors.Join(err, werr)
		}
		id, err := jobID(retry, args[0])
		if err != nil {
			return err
		}
		row, err := q.Retry(ctx, id)
		if errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("jobs retry: no job %d", id)
		}
		if err != nil {
			return err
		}
		return printJobs(stdout, []*rivertype.JobRow{row})
	})

	cancel := &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel a job that has not finished",
		Example: "  worker jobs cancel 42",
		Args:    startup.Args(cobra.ExactArgs(1)),
	}
	cancel.RunE = withQueue(func(ctx context.Context, _ *bun.DB, q *jobs.Queue, args []string) error {
		id, err := jobID(cancel, args[0])
		if err != nil {
			return err
		}
		row, err := q.Cancel(ctx, id)
		if errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("jobs cancel: no job %d", id)
		}
		if err != nil {
			return err
		}
		return printJobs(stdout, []*rivertype.JobRow{row})
	})

	stats := &cobra.Command{
		Use:     "stats",
		Short:   "Count the jobs by state and kind",
		Example: "  worker jobs stats",
		Args:    startup.Args(cobra.NoArgs),
		RunE: withQueue(func(ctx context.Context, db *bun.DB, _ *jobs.Queue, _ []string) error {
			return printStats(ctx, stdout, db)
		}),
	}
	cmd.AddCommand(list, retry, cancel, stats)
	return cmd
}

// retryAllFailed retries discarded jobs a page at a time until none is left: each retried job
// leaves the discarded state, so the next page holds the next ones. Bounded by maxPages.
func retryAllFailed(ctx context.Context, q *jobs.Queue) (int, error) {
	const pageSize, maxPages = 100, 10000
	n := 0
	for range maxPages {
		rows, err := q.List(ctx, pageSize, rivertype.JobStateDiscarded)
		if err != nil || len(rows) == 0 {
			return n, err
		}
		for _, r := range rows {
			if _, err := q.Retry(ctx, r.ID); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, fmt.Errorf("jobs retry --all-failed: stopped after %d jobs", n)
}

func printJobs(w io.Writer, rows []*rivertype.JobRow) error {
	t := startup.NewTable(w)
	t.Row("ID\tKIND\tSTATE\tATTEMPT\tQUEUE\tSCHEDULED\tLAST ERROR")
	for _, r := range rows {
		lastErr := ""
		if len(r.Errors) > 0 {
			lastErr = r.Errors[len(r.Errors)-1].Error
		}
		t.Row("%d\t%s\t%s\t%d/%d\t%s\t%s\t%s", r.ID, r.Kind, r.State, r.Attempt, r.MaxAttempts, r.Queue,
			r.ScheduledAt.UTC().Format(time.RFC3339), lastErr)
	}
	return t.Flush()
}

// printStats counts River's jobs by state and kind: one grouped query, the same SQL on both
// dialects.
func printStats(ctx context.Context, w io.Writer, db bun.IDB) error {
	var rows []struct {
		State string `bun:"state"`
		Kind  string `bun:"kind"`
		N     int64  `bun:"n"`
	}
	if err := db.NewRaw("SELECT state, kind, count(*) AS n FROM river_job GROUP BY state, kind ORDER BY state, kind").Scan(ctx, &rows); err != nil {
		return fmt.Errorf("jobs stats: %w", err)
	}
	t := startup.NewTable(w)
	t.Row("STATE\tKIND\tJOBS")
	var total int64
	for _, r := range rows {
		t.Row("%s\t%s\t%d", r.State, r.Kind, r.N)
		total += r.N
	}
	t.Row("total\t\t%d", total)
	return t.Flush()
}
