package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
)

func commandPaths(root *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(root, nil)
	return out
}

func runMain(t *testing.T, args []string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "BRISK_RUN_MAIN=1", "BRISK_ARGS="+strings.Join(args, " "))
	cmd.Dir = t.TempDir()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// Every command and subcommand answers --help and -h with exit 0 over the real main.
func TestEveryCommandAnswersHelp(t *testing.T) {
	paths := commandPaths(newCLI(func(string) string { return "" }, io.Discard).Root)
	if len(paths) < 10 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, p := range paths {
		for _, h := range []string{"--help", "-h"} {
			args := append(slices.Clone(p), h)
			if code, out, errOut := runMain(t, args); code != 0 || !strings.Contains(out, "Usage:") {
				t.Errorf("worker %s: exit %d, %q %q", strings.Join(args, " "), code, out, errOut)
			}
		}
	}
	for _, tc := range [][]string{{"jobs", "stat"}, {"--jobs.max_worker=3"}, {"jobs", "retry"}, {"jobs"}, {"--http.addr=:1"}} {
		if code, _, errOut := runMain(t, tc); code != 2 || !strings.Contains(errOut, "--help") {
			t.Errorf("worker %v: exit %d, %q; want 2 with a hint", tc, code, errOut)
		}
	}
	if code, _, errOut := runMain(t, []string{"jobs", "stat"}); !strings.Contains(errOut, "stats") {
		t.Errorf("no suggestion for jobs stat: %d %q", code, errOut)
	}
}

func TestJobsStatsAndRetryAllFailed(t *testing.T) {
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	q, err := jobs.New(ctx, jobs.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 3 {
		res, err := q.Insert(ctx, probeArgs{N: i}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Job.ID)
	}
	// Two of them failed for good.
	if _, err := db.NewRaw("UPDATE river_job SET state = 'discarded', finalized_at = CURRENT_TIMESTAMP WHERE id IN (?, ?)", ids[0], ids[1]).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"DATABASE_URL": url})
	var out strings.Builder
	if err := run(ctx, []string{"jobs", "stats"}, env, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"available  probe  1", "discarded  probe  2", "total             3"} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("stats lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(ctx, []string{"jobs", "retry", "--all-failed"}, env, &out); err != nil || !strings.Contains(out.String(), "retried 2 failed jobs") {
		t.Fatalf("retry --all-failed: %v %q", err, out.String())
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM river_job WHERE state = 'available'").Scan(ctx, &n); err != nil || n != 3 {
		t.Fatalf("available after retry: %d %v", n, err)
	}
}
