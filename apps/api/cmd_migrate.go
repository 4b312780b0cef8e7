package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/startup"
	"github.com/brisk-go/brisk/migrations"
)

// migrateCommand is `migrate`: the schema's version and the ways to move it.
func migrateCommand(cli *startup.CLI) *cobra.Command {
	cmd := startup.Group(&cobra.Command{
		Use:   "migrate",
		Short: "Move the database schema: up, down, rollback, fresh, force, status, create",
		Example: "  api migrate status\n  api migrate up\n  api migrate rollback 2\n" +
			"  api migrate fresh --force\n  api migrate create add_bookmarks",
	})
	// step runs one migration action, then prints the status.
	step := func(action func(ctx context.Context, cfg *config.Config, m *migrations.Migrator) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := cli.Config()
			if err != nil {
				return err
			}
			m, err := data.NewMigrator(cfg.Database.Target)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, m.Close()) }()
			if action != nil {
				if err := action(cmd.Context(), cfg, m); err != nil {
					return err
				}
			}
			return printStatus(cmd.OutOrStdout(), cfg.Database.Target.Dialect, m)
		}
	}
	number := func(cmd *cobra.Command, args []string, def int) (int, error) {
		if len(args) == 0 && def >= 0 {
			return def, nil
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 {
			return 0, startup.Usage(cmd, "%s: %q is not a whole number", cmd.CommandPath(), args[0])
		}
		return n, nil
	}
	var force bool
	fresh := &cobra.Command{
		Use:   "fresh",
		Short: "Revert every migration, then apply them all again (drops all data)",
		Long: "Revert every migration, then apply them all again: every table is emptied. Refused\n" +
			"without --force unless the database is the embedded default (" + data.DefaultSQLitePath + ").",
		Example: "  api migrate fresh\n  DATABASE_URL=postgres://… api migrate fresh --force",
		Args:    startup.Args(cobra.NoArgs),
	}
	fresh.Flags().BoolVar(&force, "force", false, "allow it on a database other than the embedded default")
	fresh.RunE = func(cmd *cobra.Command, args []string) error {
		return step(func(ctx context.Context, cfg *config.Config, m *migrations.Migrator) error {
			t := cfg.Database.Target
			embedded := cfg.Database.URL == "" && t.Path == data.DefaultSQLitePath
			if !force && !embedded {
				return startup.Usage(cmd, "migrate fresh drops every table of %s: add --force to do it", t.Dialect)
			}
			v, _, err := m.Version()
			if err != nil && !errors.Is(err, migrations.ErrNoVersion) {
				return err
			}
			if v > 0 {
				if err := m.Down(ctx, int(v)); err != nil {
					return err
				}
			}
			return m.Up(ctx)
		})(cmd, args)
	}
	down := func(use, short, example string, def int) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Example: example}
		if def >= 0 {
			c.Args = startup.Args(cobra.MaximumNArgs(1))
		} else {
			c.Args = startup.Args(cobra.ExactArgs(1))
		}
		c.RunE = func(cmd *cobra.Command, args []string) error {
			n, err := number(cmd, args, def)
			if err != nil {
				return err
			}
			return step(func(ctx context.Context, _ *config.Config, m *migrations.Migrator) error {
				return m.Down(ctx, n)
			})(cmd, args)
		}
		return c
	}
	forceCmd := &cobra.Command{
		Use:     "force VERSION",
		Short:   "Record VERSION as applied without running anything (after repairing a failed migration)",
		Example: "  api migrate force 3",
		Args:    startup.Args(cobra.ExactArgs(1)),
	}
	forceCmd.RunE = func(cmd *cobra.Command, args []string) error {
		n, err := number(cmd, args, -1)
		if err != nil {
			return err
		}
		return step(func(_ context.Context, _ *config.Config, m *migrations.Migrator) error { return m.Force(n) })(cmd, args)
	}
	cmd.AddCommand(
		&cobra.Command{
			Use: "up", Short: "Apply every pending migration", Example: "  api migrate up",
			Args: startup.Args(cobra.NoArgs),
			RunE: step(func(ctx context.Context, _ *config.Config, m *migrations.Migrator) error { return m.Up(ctx) }),
		},
		down("down N", "Revert the last N migrations", "  api migrate down 1", -1),
		down("rollback [N]", "Revert the last N migrations (default 1)", "  api migrate rollback\n  api migrate rollback 3", 1),
		fresh,
		forceCmd,
		&cobra.Command{
			Use: "status", Short: "Print the applied and the latest schema version", Example: "  api migrate status",
			Args: startup.Args(cobra.NoArgs), RunE: step(nil),
		},
		createCommand(),
	)
	return cmd
}

func printStatus(w io.Writer, dialect string, m *migrations.Migrator) error {
	latest, err := migrations.Latest(dialect)
	if err != nil {
		return err
	}
	v, dirty, err := m.Version()
	if errors.Is(err, migrations.ErrNoVersion) {
		v, err = 0, nil
	}
	if err != nil {
		return err
	}
	st := data.SchemaStatus{Dialect: dialect, Version: v, Latest: latest, Dirty: dirty}
	_, err = fmt.Fprintln(w, st.String())
	return err
}

var migrationName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// createCommand is `migrate create NAME`: an empty up/down pair for each dialect, numbered one
// past the highest existing version of either.
func createCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Write an empty up/down migration pair for both dialects with the next version number",
		Long: "Write NNNNNN_NAME.up.sql and NNNNNN_NAME.down.sql into DIR/postgres and DIR/sqlite, with\n" +
			"NNNNNN one past the highest version there. Run it from the repository root.",
		Example: "  api migrate create add_bookmarks\n  api migrate create add_bookmarks --dir ../migrations",
		Args:    startup.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := strings.ToLower(strings.ReplaceAll(args[0], "-", "_"))
			if !migrationName.MatchString(name) {
				return startup.Usage(cmd, "migrate create: %q is not a name of lower-case letters, digits and _", args[0])
			}
			dir, err := cmd.Flags().GetString("dir")
			if err != nil {
				return err
			}
			files, err := createMigration(dir, name)
			if err != nil {
				return err
			}
			for _, f := range files {
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), "created", f); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().String("dir", "migrations", "the migrations folder (it holds postgres/ and sqlite/)")
	return cmd
}

func createMigration(dir, name string) ([]string, error) {
	dialects := []string{migrations.Postgres, migrations.SQLite}
	next := 1
	for _, d := range dialects {
		entries, err := os.ReadDir(filepath.Join(dir, d))
		if err != nil {
			return nil, fmt.Errorf("migrate create: %w (run it from the repository root or give --dir)", err)
		}
		for _, e := range entries {
			head, _, _ := strings.Cut(e.Name(), "_")
			if n, err := strconv.Atoi(head); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	var written []string
	for _, d := range dialects {
		for _, way := range []string{"up", "down"} {
			path := filepath.Join(dir, d, fmt.Sprintf("%06d_%s.%s.sql", next, name, way))
			body := fmt.Sprintf("-- %s: %s (%s). Keep the %s and %s files of this version in step.\n",
				name, way, d, migrations.Postgres, migrations.SQLite)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return written, fmt.Errorf("migrate create: %w", err)
			}
			_, werr := f.WriteString(body)
			if err := errors.Join(werr, f.Close()); err != nil {
				return written, fmt.Errorf("migrate create: %w", err)
			}
			written = append(written, path)
		}
	}
	return written, nil
}
