package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/startup/starttest"
)

func runMain(t *testing.T, args []string) (int, string, string) {
	t.Helper()
	return starttest.RunMain(t, args)
}

// Every command and subcommand answers --help, -h and help COMMAND with exit 0 and its usage,
// over the real main, and shows examples.
func TestEveryCommandAnswersHelp(t *testing.T) {
	starttest.CheckHelp(t, "worker", newCLI(func(string) string { return "" }, io.Discard).Root, 10)
}

// Unknown commands and flags exit 2 with a hint, and a suggestion where one is near.
func TestWrongCommandLinesExitTwoWithAHint(t *testing.T) {
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
