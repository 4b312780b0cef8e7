package startup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/brisk-go/brisk/libs/config"
)

// CLI is an app's command line on cobra: the root command carries --config, --env-file and one
// hidden --KEY=VALUE flag per setting the app reads, so every subcommand accepts every setting.
// Commands ask for the configuration with Config, which builds it once from the layers
// (defaults, profile, YAML, .env, environment, flags); help, completion and version never
// need a valid configuration.
type CLI struct {
	Root *cobra.Command

	app        config.App
	getenv     func(string) string
	configFile string
	envFile    string
	settings   map[string]*string
	cfg        *config.Config
	ran        bool // a command's run function was reached: later errors are not usage errors
}

// SettingsHelp is appended to the root command's help.
const SettingsHelp = `Settings: every setting is also a flag, --KEY=VALUE, with the keys that "config" lists
(for example --http.addr=:9000 --log.level=debug). Precedence, lowest first: defaults,
profile (APP_PROFILE), YAML file (--config), .env file, environment, flags.`

// NewCLI wraps root, the app's root command with its subcommands already added, and adds the
// configuration flags to it.
func NewCLI(app config.App, root *cobra.Command, getenv func(string) string) *CLI {
	c := &CLI{Root: root, app: app, getenv: getenv, settings: map[string]*string{}}
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.Long = strings.TrimSpace(root.Long + "\n\n" + SettingsHelp)
	pf := root.PersistentFlags()
	pf.StringVar(&c.configFile, "config", "", "YAML `FILE` of settings (keys as in \"config\")")
	pf.StringVar(&c.envFile, "env-file", "", "`FILE` of KEY=VALUE lines read under the environment (default ./.env if present)")
	for _, s := range config.Settings() {
		if !s.Reads(app) {
			continue
		}
		c.settings[s.Key] = pf.String(s.Key, "", s.Meaning+" ("+s.Env+")")
		_ = pf.MarkHidden(s.Key)
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return UsageError{Msg: err.Error() + flagSuggestion(cmd, err), Usage: helpHint(cmd)}
	})
	prev := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		c.ran = true
		if prev != nil {
			return prev(cmd, args)
		}
		return nil
	}
	return c
}

// Config builds the configuration on first use and returns the same one after.
func (c *CLI) Config() (*config.Config, error) {
	if c.cfg != nil {
		return c.cfg, nil
	}
	in := config.Input{App: c.app, Getenv: c.getenv, File: c.configFile, Flags: map[string]string{}}
	// The flags are parsed in the running command's merged set: its Flag values are shared
	// with the root's, but only they record Changed for that set.
	for key, v := range c.settings {
		if f := c.Root.PersistentFlags().Lookup(key); f != nil && f.Changed {
			in.Flags[key] = *v
		}
	}
	var err error
	if in.DotEnv, err = config.ReadDotEnv(c.envFile); err != nil {
		return nil, err
	}
	cfg, err := config.Build(in)
	if err != nil {
		return nil, err
	}
	c.cfg = cfg
	return cfg, nil
}

// Execute runs the command line args. Help goes to stdout; a wrong command line (unknown
// command or flag, wrong number of arguments) comes back as a UsageError (exit 2) with a
// suggestion where one is close.
func (c *CLI) Execute(ctx context.Context, args []string, stdout io.Writer) error {
	c.Root.SetArgs(args)
	c.Root.SetOut(stdout)
	c.Root.SetErr(stdout)
	cmd, err := c.Root.ExecuteContextC(ctx)
	if err == nil || c.ran {
		return err
	}
	var ue UsageError
	if errors.As(err, &ue) {
		return err
	}
	return UsageError{Msg: err.Error(), Usage: helpHint(cmd)}
}

func helpHint(cmd *cobra.Command) string {
	if cmd == nil {
		return ""
	}
	return fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())
}

// Usage returns a UsageError for cmd: a wrong command line found by the command itself.
func Usage(cmd *cobra.Command, format string, a ...any) error {
	return UsageError{Msg: fmt.Sprintf(format, a...), Usage: helpHint(cmd)}
}

// Args wraps a cobra argument check so that its failure is a usage error.
func Args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return Usage(cmd, "%s: %v", cmd.CommandPath(), err)
		}
		return nil
	}
}

// Group makes cmd a command that only holds subcommands: run bare it is a usage error listing
// them, and an unknown subcommand gets a suggestion (cobra only does that at the root).
func Group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = Subcommands(false)
	cmd.RunE = func(*cobra.Command, []string) error { return nil } // reached only past Args
	return cmd
}

// Subcommands is the argument check of a command whose arguments can only be subcommands:
// any argument left is an unknown command, reported with the closest names. allowNone lets
// the command run bare (the root's default command).
func Subcommands(allowNone bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			if allowNone {
				return nil
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			return Usage(cmd, "%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		cmd.SuggestionsMinimumDistance = 2
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return Usage(cmd, "%s", msg)
	}
}

// flagSuggestion names the closest known flag to an unknown one.
func flagSuggestion(cmd *cobra.Command, err error) string {
	msg := err.Error()
	const prefix = "unknown flag: --"
	if !strings.HasPrefix(msg, prefix) {
		return ""
	}
	given := strings.TrimPrefix(msg, prefix)
	var names []string
	seen := map[string]bool{}
	add := func(f *pflag.Flag) {
		if !seen[f.Name] {
			seen[f.Name] = true
			names = append(names, f.Name)
		}
	}
	cmd.Flags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	sort.Strings(names)
	best, bestD := "", 4 // suggest only what is at most 3 edits away, or contains what was typed
	for _, n := range names {
		d := editDistance(given, n)
		if strings.Contains(n, given) && len(given) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return "\n\nDid you mean this?\n\t--" + best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ConfigCommand is `config` (also `config show`): every setting the app reads, its effective
// value with secrets masked, and the layer it came from.
func (c *CLI) ConfigCommand() *cobra.Command {
	show := func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.Config()
		if err != nil {
			return err
		}
		return WriteSettings(cmd.OutOrStdout(), cfg, c.app)
	}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show every effective setting and where its value came from",
		Long: "Show every setting this app reads: its key (also its --flag), its environment variable,\n" +
			"its effective value (secrets and URL passwords masked) and its source: default, profile,\n" +
			"file (--config), .env, env or flag.",
		Example: "  " + string(c.app) + " config\n  APP_PROFILE=web " + string(c.app) + " config show --log.level=debug",
		Args:    Args(cobra.NoArgs),
		RunE:    show,
	}
	cmd.AddCommand(&cobra.Command{
		Use: "show", Short: "Same as config", Args: Args(cobra.NoArgs), RunE: show,
		Example: "  " + string(c.app) + " config show",
	})
	return cmd
}

// WriteSettings prints cfg's settings as a table, in the Settings table's order.
func WriteSettings(w io.Writer, cfg *config.Config, app config.App) error {
	t := NewTable(w)
	t.Row("KEY\tVARIABLE\tVALUE\tSOURCE")
	for _, s := range config.Settings() {
		if !s.Reads(app) {
			continue
		}
		v := s.Masked(cfg.Values[s.Key])
		if v == "" {
			v = `""`
		}
		t.Row("%s\t%s\t%s\t%s", s.Key, s.Env, v, cfg.Sources[s.Key])
	}
	return t.Flush()
}

// VersionCommand is `version`: the build's version and the Go it was built with.
func VersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the build's version",
		Example: "  version",
		Args:    Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), Version())
			return err
		},
	}
}
