package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/brisk-go/brisk/libs/conduit/seed"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/startup"
)

// run is the whole program behind main: it reads configuration from args and getenv only (and
// the .env file in the working directory), logs to stdout, and returns when ctx ends (serve)
// or the command is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return newCLI(getenv, stdout).Execute(ctx, args, stdout)
}

// newCLI builds the api's command tree; stdout is where commands log.
func newCLI(getenv func(string) string, stdout io.Writer) *startup.CLI {
	var cli *startup.CLI
	serveCmd := func(cmd *cobra.Command, _ []string) error {
		cfg, err := cli.Config()
		if err != nil {
			return err
		}
		return serve(cmd.Context(), cfg, startup.NewLogger(cfg, stdout), getenv)
	}
	root := &cobra.Command{
		Use:   "api",
		Short: "Brisk's RealWorld Conduit API",
		Long: "Brisk's RealWorld Conduit API. Run bare, it serves (the same as \"api serve\"): on the\n" +
			"embedded SQLite database, an in-memory cache and in-process jobs unless configured.",
		Example: "  api                                   # serve on 127.0.0.1:8080\n" +
			"  DATABASE_URL=postgres://… api migrate up\n" +
			"  api seed --users 10 --articles 100\n" +
			"  api routes\n" +
			"  api config --log.level=debug",
		Args: startup.Subcommands(true),
		RunE: serveCmd,
	}
	root.AddCommand(&cobra.Command{
		Use:     "serve",
		Short:   "Serve the API until SIGINT or SIGTERM (the default command)",
		Example: "  api serve --http.addr=:8080\n  HTTP_ADDR=127.0.0.1:0 api serve",
		Args:    startup.Args(cobra.NoArgs),
		RunE:    serveCmd,
	})
	cli = startup.NewCLI(config.API, root, getenv)
	root.AddCommand(
		migrateCommand(cli),
		seedCommand(cli, stdout),
		startup.VersionCommand(),
		cli.ConfigCommand(),
		routesCommand(),
		aboutCommand(cli),
	)
	root.AddCommand(maintenanceCommands(cli, stdout)...)
	root.AddCommand(cacheCommand(cli))
	return cli
}

func seedCommand(cli *startup.CLI, stdout io.Writer) *cobra.Command {
	var users, articles int
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill the database with realistic users, articles, comments and follows",
		Example: "  api seed\n" +
			"  api seed --users 10 --articles 100",
		Args: startup.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := cli.Config()
			if err != nil {
				return err
			}
			log := startup.NewLogger(cfg, stdout)
			db, err := startup.OpenDatabase(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, db.Close()) }()
			if err := seed.Run(cmd.Context(), db, users, articles, cmd.OutOrStdout()); err != nil {
				return err
			}
			// A running API would otherwise serve its cached tag list and listings until they
			// expire. Not fatal: the data is in.
			msg, err := clearCache(cmd.Context(), cfg)
			if err != nil {
				msg = "cache not cleared (" + err.Error() + "); a running API shows the new data within CACHE_TTL"
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	cmd.Flags().IntVar(&users, "users", 100, "users to create")
	cmd.Flags().IntVar(&articles, "articles", 1000, "articles to create")
	return cmd
}
