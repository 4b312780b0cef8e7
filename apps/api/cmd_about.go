package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/startup"
)

// aboutCommand is `about`: what this build is and what it would run against, in one screen.
func aboutCommand(cli *startup.CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "about",
		Short: "Summarize the build, the database, the cache, the jobs and the performance settings",
		Long: "Summarize the build and the configured environment: version, Go version, profile, the\n" +
			"database (dialect, host, schema version, pending migrations), the cache (driver and\n" +
			"whether it answers), the jobs (in-process or worker, queue depths), the admin address and\n" +
			"the effective goroutine pool, deadline, memory and optimizer settings. It opens the\n" +
			"database without migrating it.",
		Example: "  api about\n  DATABASE_URL=postgres://… REDIS_URL=redis://localhost:6379/0 api about",
		Args:    startup.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := cli.Config()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			return writeAbout(ctx, cmd.OutOrStdout(), cfg)
		},
	}
}

func writeAbout(ctx context.Context, w io.Writer, cfg *config.Config) (err error) {
	tbl := startup.NewTable(w)
	section := func(name string) { tbl.Row("%s\t", name) }
	row := func(k string, v any) { tbl.Row("  %s\t%v", k, v) }

	section("Application")
	row("version", startup.Version())
	row("go", runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
	row("profile", cfg.Profile)
	row("http address", cfg.HTTP.Addr)
	row("admin address", orText(cfg.AdminAddr, "off"))

	t := cfg.Database.Target
	section("Database")
	row("dialect", t.Dialect)
	row("location", dbLocation(cfg))
	var db *bun.DB
	var dbErr error
	if db, dbErr = data.Open(ctx, data.Options{Target: t, MaxOpenConns: 1}); dbErr == nil {
		defer func() { err = errors.Join(err, db.Close()) }()
		dbErr = db.PingContext(ctx)
	}
	if dbErr != nil {
		row("reachable", "no: "+dbErr.Error())
		db = nil
	} else {
		row("reachable", "yes")
		if st, err := data.CheckSchema(ctx, db); err != nil {
			row("schema", "unknown: "+err.Error())
		} else {
			row("schema version", fmt.Sprintf("%d of %d", st.Version, st.Latest))
			pending := uint(0)
			if st.Latest > st.Version {
				pending = st.Latest - st.Version
			}
			row("pending migrations", pending)
			if st.Dirty {
				row("dirty", "yes: repair it, then `api migrate force`")
			}
		}
	}
	row("auto migrate", fmt.Sprintf("%s (%v)", cfg.Database.AutoMigrate, cfg.MigrateOnStart()))
	row("batch finds", cfg.Database.BatchFinds)

	section("Cache")
	c, err := cache.Open(ctx, cfg.RedisURL, cache.Options{DefaultTTL: cfg.Cache.TTL})
	if err != nil {
		row("driver", "redis")
		row("reachable", "no: "+err.Error())
	} else {
		row("driver", c.Driver())
		row("reachable", "yes")
		_ = c.Close()
	}
	row("ttl", cfg.Cache.TTL)

	section("Jobs")
	if cfg.JobsInProcess() {
		row("mode", "in-process (this API works the jobs)")
	} else {
		row("mode", "worker (run `worker run` beside the API)")
	}
	row("max workers", cfg.Jobs.Concurrency)
	if db != nil {
		counts, err := jobCounts(ctx, db)
		switch {
		case err != nil:
			row("queue", "unknown: "+err.Error())
		case len(counts) == 0:
			row("queue", "empty")
		default:
			var parts []string
			for _, c := range counts {
				parts = append(parts, fmt.Sprintf("%s %d", c.State, c.Count))
			}
			row("queue", strings.Join(parts, ", "))
		}
	}

	section("Performance")
	row("goroutine pool", fmt.Sprintf("%d–%d workers, queue %d, idle timeout %s",
		cfg.Pool.MinWorkers, cfg.Pool.MaxWorkers, cfg.Pool.QueueSize, cfg.Pool.IdleTimeout))
	row("deadlines", fmt.Sprintf("default %s, max %s, enabled %v",
		cfg.Context.DefaultTimeout, cfg.Context.MaxTimeout, cfg.Context.EnableDeadline))
	row("memory pools", fmt.Sprintf("%d objects, slab %d bytes, cleanup every %s",
		cfg.Memory.PoolSize, cfg.Memory.SlabSize, cfg.Memory.CleanupInterval))
	row("optimizer", fmt.Sprintf("sample every %s, at most %d actions per %s",
		cfg.Optimizer.SamplingInterval, cfg.Optimizer.MaxOptimizations, cfg.Optimizer.OptimizationInterval))
	return tbl.Flush()
}

func orText(s, empty string) string {
	if s == "" {
		return empty
	}
	return s
}

// dbLocation is where the database is, without credentials: host and database, or the file.
func dbLocation(cfg *config.Config) string {
	t := cfg.Database.Target
	if t.Path != "" {
		return t.Path
	}
	u, err := url.Parse(cfg.Database.URL)
	if err != nil {
		return "?"
	}
	return u.Host + u.Path
}

// jobCount is the number of jobs in one state (and of one kind, where asked).
type jobCount struct {
	State string `bun:"state"`
	Count int64  `bun:"n"`
}

// jobCounts reads River's job table: one grouped count, the same SQL on both dialects.
func jobCounts(ctx context.Context, db bun.IDB) ([]jobCount, error) {
	var rows []jobCount
	err := db.NewRaw("SELECT state, count(*) AS n FROM river_job GROUP BY state ORDER BY state").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	return rows, nil
}
