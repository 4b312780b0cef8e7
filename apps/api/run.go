package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/brisk-go/brisk/libs/conduit/seed"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/startup"
	"github.com/brisk-go/brisk/migrations"
)

const usage = `usage: api [flags] [command]

commands:
  serve                      serve the API (default)
  migrate up|down N|status|force V
  seed --users N --articles M
  version

flags: --config FILE, and --KEY=VALUE for any key in docs/configuration.md`

// usageError is a wrong command line: main exits 2 for it, as for a bad configuration value.
func usageError(msg string) error { return startup.UsageError{Msg: msg, Usage: usage} }

// run is the whole program behind main: it reads configuration from args and getenv only, logs to
// stdout, and returns when ctx ends (serve) or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var seedUsers, seedArticles *int
	var extra []func(*flag.FlagSet)
	if cmd == "seed" {
		extra = append(extra, func(fs *flag.FlagSet) {
			seedUsers = fs.Int("users", 100, "users to create")
			seedArticles = fs.Int("articles", 1000, "articles to create")
		})
	}
	cfg, rest, err := config.Load(args, getenv, config.API, extra...)
	if err != nil {
		return err
	}
	log := startup.NewLogger(cfg, stdout)

	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, getenv)
	case "migrate":
		return migrateCmd(ctx, cfg, rest, stdout)
	case "seed":
		db, err := startup.OpenDatabase(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer db.Close()
		return seed.Run(ctx, db, *seedUsers, *seedArticles, stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, startup.Version())
		return err
	case "help":
		_, err := fmt.Fprintln(stdout, usage)
		return err
	default:
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
}

func migrateCmd(ctx context.Context, cfg *config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError("migrate needs up, down N, status or force V")
	}
	t := cfg.Database.Target
	m, err := data.NewMigrator(t)
	if err != nil {
		return err
	}
	defer m.Close()
	latest, err := migrations.Latest(t.Dialect)
	if err != nil {
		return err
	}
	num := func() (int, error) {
		if len(args) != 2 {
			return 0, usageError(fmt.Sprintf("migrate %s needs one number", args[0]))
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return 0, usageError(fmt.Sprintf("migrate %s: %q is not a number", args[0], args[1]))
		}
		return n, nil
	}
	switch args[0] {
	case "up":
		if err := m.Up(ctx); err != nil {
			return err
		}
	case "down":
		n, err := num()
		if err != nil {
			return err
		}
		if err := m.Down(ctx, n); err != nil {
			return err
		}
	case "force":
		n, err := num()
		if err != nil {
			return err
		}
		if err := m.Force(n); err != nil {
			return err
		}
	case "status":
	default:
		return usageError(fmt.Sprintf("unknown migrate command %q", args[0]))
	}
	v, dirty, err := m.Version()
	if errors.Is(err, migrations.ErrNoVersion) {
		v, err = 0, nil
	}
	if err != nil {
		return err
	}
	st := data.SchemaStatus{Dialect: t.Dialect, Version: v, Latest: latest, Dirty: dirty}
	_, err = fmt.Fprintln(stdout, st.String())
	return err
}
