package startup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/brisk-go/brisk/libs/config"
)

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "abc", 0}, {"", "abc", 3}, {"htp.addr", "http.addr", 1}, {"kitten", "sitting", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// A setting given as a flag to a subcommand reaches the configuration, with its source, and a
// wrong command line is a UsageError naming the closest command or flag.
func TestCLIFlagsAndUsageErrors(t *testing.T) {
	t.Parallel()
	var got *config.Config
	build := func() *CLI {
		root := &cobra.Command{Use: "app", Args: Subcommands(true), RunE: func(*cobra.Command, []string) error { return nil }}
		var cli *CLI
		sub := Group(&cobra.Command{Use: "things"})
		sub.AddCommand(&cobra.Command{Use: "count", Args: Args(cobra.NoArgs), RunE: func(*cobra.Command, []string) error {
			var err error
			got, err = cli.Config()
			return err
		}})
		root.AddCommand(sub)
		cli = NewCLI(config.API, root, func(string) string { return "" })
		return cli
	}
	cli := build()
	var out strings.Builder
	if err := cli.Execute(context.Background(), []string{"things", "count", "--log.level=debug"}, &out); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Sources["log.level"] != config.FromFlag || got.Log.Level.String() != "DEBUG" {
		t.Fatalf("flag not applied: %+v", got)
	}
	for args, want := range map[string]string{
		"thing":                     "things",
		"things cont":               "count",
		"things count --log.levl=x": "--log.level",
		"things count extra":        "things count --help",
	} {
		err := build().Execute(context.Background(), strings.Fields(args), &out)
		var ue UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v; want a UsageError with %q", args, err, want)
		}
	}
}
