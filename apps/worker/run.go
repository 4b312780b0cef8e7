package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/riverqueue/river"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/importer"
	"github.com/brisk-go/brisk/libs/conduit/listeners"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/startup"
)

// extraWorkers lets tests add job kinds to the worker (the crash test's probe job).
var extraWorkers func(workers *river.Workers, db *bun.DB)

// run is the whole program behind main; it returns when ctx ends or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return newCLI(getenv, stdout).Execute(ctx, args, stdout)
}

// newCLI builds the worker's command tree; stdout is where commands log and print.
func newCLI(getenv func(string) string, stdout io.Writer) *startup.CLI {
	var cli *startup.CLI
	// withConfig runs fn with the loaded configuration and a logger on stdout.
	withConfig := func(fn func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			cfg, err := cli.Config()
			if err != nil {
				return err
			}
			return fn(cmd.Context(), cfg, startup.NewLogger(cfg, stdout), args)
		}
	}
	runCmd := withConfig(func(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
		return work(ctx, cfg, log, getenv)
	})
	root := &cobra.Command{
		Use:   "worker",
		Short: "Brisk's background worker: works the job queues, imports, manages jobs",
		Long: "Brisk's background worker. Run bare, it works the job queues until SIGINT or SIGTERM\n" +
			"(the same as \"worker run\"); it needs the API's DATABASE_URL.",
		Example: "  DATABASE_URL=postgres://… worker\n" +
			"  worker import articles.ndjson\n" +
			"  worker jobs list discarded\n" +
			"  worker jobs retry --all-failed\n" +
			"  worker jobs stats",
		Args: startup.Subcommands(true),
		RunE: runCmd,
	}
	var cpuProfile string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Bulk-import articles from FILE, one JSON object per line (ndjson)",
		Long: "Bulk-import articles from FILE, one JSON object per line. Lines that are not valid are\n" +
			"reported and skipped; importing the same file twice imports nothing twice.",
		Example: "  worker import articles.ndjson\n" +
			"  worker import --cpuprofile import.pprof articles.ndjson",
		Args: startup.Args(cobra.ExactArgs(1)),
		RunE: withConfig(func(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			return importCmd(ctx, cfg, log, args[0], stdout)
		}),
	}
	imp.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the import to this file (task pgo records apps/worker/default.pgo this way)")
	root.AddCommand(&cobra.Command{
		Use:     "run",
		Short:   "Work the job queues until SIGINT or SIGTERM (the default command)",
		Example: "  worker run --jobs.concurrency=20",
		Args:    startup.Args(cobra.NoArgs),
		RunE:    runCmd,
	}, imp)
	cli = startup.NewCLI(config.Worker, root, getenv)
	root.AddCommand(jobsCommand(withConfig, stdout), startup.VersionCommand(), cli.ConfigCommand())
	return cli
}

func importCmd(ctx context.Context, cfg *config.Config, log *slog.Logger, path string, stdout io.Writer) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
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
	// The import raises ArticlePublished for every article, as POST /api/articles does: the
	// same listeners insert the same jobs in each batch's transaction.
	ev, err := conduit.NewEvents(startup.EventsConfig(cfg, log, nil))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ev.Close(context.WithoutCancel(ctx))) }()
	// The cache is opened only to broadcast the invalidations of what the import changes (the
	// tag list) to the API instances; on the embedded SQLite default there is no broadcast
	// across processes and the API's copy lasts until CACHE_TTL.
	c, err := startup.OpenCache(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	if err := listeners.Register(ev, listeners.Deps{Queue: q, Cache: c}); err != nil {
		return err
	}

	opts := importer.Options{DB: db, Events: ev}
	// say prints a progress or skipped-line message from the importer's callbacks, which
	// return nothing: the first write error is kept and returned with the import's.
	var outErr error
	say := func(w io.Writer, format string, a ...any) {
		if outErr == nil {
			_, outErr = fmt.Fprintf(w, format, a...)
		}
	}
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
			say(out, "line %d: skipped: %s\n", n, reason)
		}
	} else {
		start, last := time.Now(), time.Time{}
		opts.Progress = func(read int64, r importer.Report) {
			if time.Since(last) < time.Second && read < size {
				return
			}
			last = time.Now()
			rate := float64(r.Lines) / max(time.Since(start).Seconds(), 1e-3)
			say(stdout, "progress: %d/%d bytes, %d lines (%d imported, %d duplicates, %d invalid), %.0f lines/s\n",
				read, size, r.Lines, r.Imported, r.Duplicates, r.Invalid, rate)
		}
		opts.Invalid = func(n int, reason string) { say(stdout, "line %d: skipped: %s\n", n, reason) }
	}
	rep, err := importer.Run(ctx, f, opts)
	if bar != nil {
		_ = bar.Finish()
	}
	say(stdout, "import: %d lines, %d imported, %d duplicates, %d invalid\n", rep.Lines, rep.Imported, rep.Duplicates, rep.Invalid)
	return errors.Join(err, outErr)
}

// startCPUProfile writes a CPU profile to path until the returned function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
