package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/schollz/progressbar/v3"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/importer"
	"github.com/brisk-go/brisk/libs/conduit/listeners"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/startup"
)

const usage = `usage: worker [flags] [command]

commands:
  run                    work the job queues until SIGINT/SIGTERM (default)
  import FILE.ndjson     bulk-import articles, one JSON object per line
  jobs list [STATE…]     list jobs (default: available, scheduled, retryable, running, discarded)
  jobs retry ID          make a job available again (for example a discarded one)
  jobs cancel ID         cancel a job that has not finished

flags: --config FILE, and --KEY=VALUE for any key in docs/configuration.md`

// usageError is a wrong command line: main exits 2 for it, as for a bad configuration value.
func usageError(msg string) error { return startup.UsageError{Msg: msg, Usage: usage} }

// extraWorkers lets tests add job kinds to the worker (the crash test's probe job).
var extraWorkers func(workers *river.Workers, db *bun.DB)

// run is the whole program behind main; it returns when ctx ends or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	cfg, rest, err := config.Load(args, getenv, config.Worker)
	if err != nil {
		return err
	}
	log := startup.NewLogger(cfg, stdout)
	switch cmd {
	case "run":
		return work(ctx, cfg, log, getenv)
	case "import":
		if len(rest) != 1 {
			return usageError("import needs one FILE")
		}
		return importCmd(ctx, cfg, log, rest[0], stdout)
	case "jobs":
		return jobsCmd(ctx, cfg, log, rest, stdout)
	case "help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	default:
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
}

func importCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	db, err := startup.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	q, err := queue(ctx, cfg, db, log, nil)
	if err != nil {
		return err
	}
	defer q.Stop(context.WithoutCancel(ctx))
	// The import raises ArticlePublished for every article, as POST /api/articles does: the
	// same listeners insert the same jobs in each batch's transaction.
	ev, err := conduit.NewEvents(startup.EventsConfig(cfg, log, nil))
	if err != nil {
		return err
	}
	defer ev.Close(context.WithoutCancel(ctx))
	// The cache is opened only to broadcast the invalidations of what the import changes (the
	// tag list) to the API instances; on the embedded SQLite default there is no broadcast
	// across processes and the API's copy lasts until CACHE_TTL.
	c, err := startup.OpenCache(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := listeners.Register(ev, listeners.Deps{Queue: q, Cache: c}); err != nil {
		return err
	}

	opts := importer.Options{DB: db, Events: ev}
	var bar *progressbar.ProgressBar
	if out, ok := stdout.(*os.File); ok && isatty.IsTerminal(out.Fd()) {
		bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		opts.Progress = func(read int64, _ importer.Report) { _ = bar.Set64(read) }
		opts.Invalid = func(n int, reason string) {
			_ = bar.Clear()
			fmt.Fprintf(out, "line %d: skipped: %s\n", n, reason)
		}
	} else {
		start, last := time.Now(), time.Time{}
		opts.Progress = func(read int64, r importer.Report) {
			if time.Since(last) < time.Second && read < size {
				return
			}
			last = time.Now()
			rate := float64(r.Lines) / max(time.Since(start).Seconds(), 1e-3)
			fmt.Fprintf(stdout, "progress: %d/%d bytes, %d lines (%d imported, %d duplicates, %d invalid), %.0f lines/s\n",
				read, size, r.Lines, r.Imported, r.Duplicates, r.Invalid, rate)
		}
		opts.Invalid = func(n int, reason string) { fmt.Fprintf(stdout, "line %d: skipped: %s\n", n, reason) }
	}
	rep, err := importer.Run(ctx, f, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	fmt.Fprintf(stdout, "import: %d lines, %d imported, %d duplicates, %d invalid\n", rep.Lines, rep.Imported, rep.Duplicates, rep.Invalid)
	return err
}

func jobsCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError("jobs needs list, retry ID or cancel ID")
	}
	db, err := startup.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	q, err := queue(ctx, cfg, db, log, nil)
	if err != nil {
		return err
	}
	defer q.Stop(context.WithoutCancel(ctx))
	id := func() (int64, error) {
		if len(args) != 2 {
			return 0, usageError(fmt.Sprintf("jobs %s needs one job ID", args[0]))
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil {
			return 0, usageError(fmt.Sprintf("jobs %s: %q is not a job ID", args[0], args[1]))
		}
		return n, nil
	}
	var rows []*rivertype.JobRow
	switch args[0] {
	case "list":
		states := []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled,
			rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateDiscarded}
		if len(args) > 1 {
			states = states[:0]
			valid := map[rivertype.JobState]bool{}
			for _, s := range rivertype.JobStates() {
				valid[s] = true
			}
			for _, s := range args[1:] {
				if !valid[rivertype.JobState(s)] {
					return usageError(fmt.Sprintf("jobs list: unknown state %q", s))
				}
				states = append(states, rivertype.JobState(s))
			}
		}
		if rows, err = q.List(ctx, 100, states...); err != nil {
			return err
		}
	case "retry", "cancel":
		n, err := id()
		if err != nil {
			return err
		}
		var row *rivertype.JobRow
		if args[0] == "retry" {
			row, err = q.Retry(ctx, n)
		} else {
			row, err = q.Cancel(ctx, n)
		}
		if errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("jobs %s: no job %d", args[0], n)
		}
		if err != nil {
			return err
		}
		rows = []*rivertype.JobRow{row}
	default:
		return usageError(fmt.Sprintf("unknown jobs command %q", args[0]))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPT\tQUEUE\tSCHEDULED\tLAST ERROR")
	for _, r := range rows {
		lastErr := ""
		if len(r.Errors) > 0 {
			lastErr = r.Errors[len(r.Errors)-1].Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", r.ID, r.Kind, r.State, r.Attempt, r.MaxAttempts, r.Queue,
			r.ScheduledAt.UTC().Format(time.RFC3339), lastErr)
	}
	return tw.Flush()
}
