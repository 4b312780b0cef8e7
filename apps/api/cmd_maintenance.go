package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/spf13/cobra"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/data/maintenance"
	"github.com/brisk-go/brisk/libs/startup"
)

// maintenanceCommands are `down` and `up`: maintenance mode for every instance on the database.
func maintenanceCommands(cli *startup.CLI, stdout io.Writer) []*cobra.Command {
	withDB := func(fn func(ctx context.Context, db *bun.DB, w io.Writer) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := cli.Config()
			if err != nil {
				return err
			}
			db, err := startup.OpenDatabase(cmd.Context(), cfg, startup.NewLogger(cfg, stdout))
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, db.Close()) }()
			return fn(cmd.Context(), db, cmd.OutOrStdout())
		}
	}
	var retryAfter time.Duration
	var message string
	down := &cobra.Command{
		Use:   "down",
		Short: "Put every instance into maintenance mode: 503 with Retry-After on all but health routes",
		Long: "Put every API instance on this database into maintenance mode: each answers 503 with\n" +
			"Retry-After and the message on every route but /healthz and /readyz (and the admin\n" +
			"listener), within " + maintenance.DefaultRefresh.String() + " of this command. Run again to change the message; \"up\" ends it.",
		Example: "  api down\n  api down --retry-after 5m --message \"Upgrading the database, back soon\"",
		Args:    startup.Args(cobra.NoArgs),
		RunE: withDB(func(ctx context.Context, db *bun.DB, w io.Writer) error {
			if err := maintenance.Down(ctx, db, message, retryAfter, time.Now()); err != nil {
				return err
			}
			_, err := fmt.Fprintf(w, "maintenance mode on (Retry-After %s): run \"api up\" to end it\n", retryAfter)
			return err
		}),
	}
	down.Flags().DurationVar(&retryAfter, "retry-after", time.Minute, "what Retry-After tells clients")
	down.Flags().StringVar(&message, "message", "", "the message in the 503 body (default \"down for maintenance\")")
	up := &cobra.Command{
		Use:     "up",
		Short:   "End maintenance mode on every instance",
		Example: "  api up",
		Args:    startup.Args(cobra.NoArgs),
		RunE: withDB(func(ctx context.Context, db *bun.DB, w io.Writer) error {
			if err := maintenance.Up(ctx, db); err != nil {
				return err
			}
			_, err := fmt.Fprintln(w, "maintenance mode off")
			return err
		}),
	}
	return []*cobra.Command{down, up}
}

// maintenanceGate is the middleware serve puts in front of the routes: 503 while `api down`
// is in force on the database.
func maintenanceGate(db bun.IDB, log *slog.Logger) gin.HandlerFunc {
	return httpapi.Maintenance(maintenance.NewWatcher(db, 0, nil, log))
}
