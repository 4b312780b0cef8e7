package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
)

const usage = `usage: worker [flags] [command]

commands:
  run       work the job queues until SIGINT/SIGTERM (default)

flags: --config FILE, and --KEY=VALUE for any key in docs/configuration.md`

// usageError is a wrong command line: main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + "\n" + usage }

// run is the whole program behind main; it returns when ctx ends or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	cfg, _, err := config.Load(args, getenv, "background")
	if err != nil {
		return err
	}
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	var log *slog.Logger
	if cfg.Log.Format == "json" {
		log = slog.New(slog.NewJSONHandler(stdout, opts))
	} else {
		log = slog.New(slog.NewTextHandler(stdout, opts))
	}
	switch cmd {
	case "run":
		return work(ctx, cfg, log)
	case "help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	default:
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}

// work holds the database open until ctx ends. The job queues it will run are not written yet
// (see the cache/jobs issue); this is the process skeleton they plug into.
func work(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	if cfg.MigrateOnStart() {
		if err := data.MigrateUp(ctx, cfg.Database.URL, 0); err != nil {
			return err
		}
	}
	db, err := data.Open(ctx, data.Options{URL: cfg.Database.URL, MaxOpenConns: cfg.Database.MaxOpenConns, Tracing: true})
	if err != nil {
		return err
	}
	defer db.Close()
	log.Info("worker started", "profile", cfg.Profile, "database", data.Dialect(db))
	<-ctx.Done()
	log.Info("worker stopping")
	return nil
}
