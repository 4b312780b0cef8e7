package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/startup"
	"github.com/brisk-go/brisk/libs/startup/starttest"
	"github.com/brisk-go/brisk/migrations"
)

// TestMain lets the test binary stand in for the real program: with BRISK_RUN_MAIN=1 it runs
// main (with the crash test's probe job added), so the crash test kills a real worker process.
func TestMain(m *testing.M) {
	if starttest.AskedToRunMain() {
		extraWorkers = func(w *river.Workers, db *bun.DB) { river.AddWorker(w, &probeWorker{db: db}) }
	}
	starttest.Main(m, "worker", main)
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestWorkerRunsUntilStopped(t *testing.T) {
	url := datatest.URL(t)
	out := &starttest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The API's settings are not the worker's: set wrong, they must not stop it.
		done <- run(ctx, []string{"run", "--admin.addr="}, envOf(map[string]string{
			"DATABASE_URL": url, "DATABASE_AUTO_MIGRATE": "true", "JWT_SECRET": "short", "HTTP_ADDR": "nonsense",
		}), out)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "worker started") {
		select {
		case err := <-done:
			t.Fatalf("worker exited early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "worker stopped") {
		t.Fatalf("no clean stop:\n%s", out.String())
	}
}

func TestWorkerBadConfigAndCommand(t *testing.T) {
	var ue startup.UsageError
	if err := run(context.Background(), []string{"dance"}, envOf(nil), io.Discard); !errors.As(err, &ue) {
		t.Fatalf("unknown command: %v", err)
	}
	err := run(context.Background(), nil, envOf(map[string]string{"GOROUTINE_MAX_WORKERS": "zero"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "GOROUTINE_MAX_WORKERS") {
		t.Fatalf("bad config: %v", err)
	}
	err = run(context.Background(), nil, envOf(map[string]string{"JOBS_JOB_TIMEOUT": "2h"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "JOBS_RESCUE_AFTER") {
		t.Fatalf("rescue shorter than timeout: %v", err)
	}
	if err := run(context.Background(), []string{"import"}, envOf(nil), io.Discard); !errors.As(err, &ue) {
		t.Fatalf("import without a file: %v", err)
	}
}

func TestImportSkipsInvalidLinesAndIsIdempotent(t *testing.T) {
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@example.com', 'x')"); err != nil {
		t.Fatal(err)
	}
	lines := []string{
		`{"title":"First post","description":"d","body":"b","tagList":["go"," go ","db"],"author":"ann"}`,
		`{"title":"Second post","description":"d","body":"b","author":"ann"}`,
		`not json`,
		``,
		`{"title":"","description":"d","body":"b","author":"ann"}`,
		`{"title":"Ghost","description":"d","body":"b","author":"nobody"}`,
		`{"title":"Third post","description":"d","body":"b","tagList":["db"],"author":"ann"}`,
	}
	path := filepath.Join(t.TempDir(), "articles.ndjson")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"DATABASE_URL": url})
	var out strings.Builder
	if err := run(ctx, []string{"import", path}, env, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"line 3: skipped: not a JSON object",
		"line 5: skipped: title can't be blank",
		`line 6: skipped: author "nobody" does not exist`,
		"import: 6 lines, 3 imported, 0 duplicates, 3 invalid",
		"progress: ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	var slugs []string
	if err := db.NewSelect().Table("articles").Column("slug").Order("slug").Scan(ctx, &slugs); err != nil {
		t.Fatal(err)
	}
	if strings.Join(slugs, ",") != "first-post,second-post,third-post" {
		t.Fatalf("articles: %v", slugs)
	}
	n, _ := db.NewSelect().Table("article_tags").Count(ctx)
	if n != 3 {
		t.Fatalf("%d article tags, want 3 (go, db on the first; db on the third)", n)
	}
	// The import raises ArticlePublished as the API does, a batch at a time: the same listener
	// inserts a follower notification for each article and one recount of the batch's tags.
	var recounts []string // JSON on PostgreSQL, SQLite's binary JSON on SQLite
	if err := db.NewSelect().Table("river_job").ColumnExpr("args").Where("kind = 'tag_counts'").Scan(ctx, &recounts); err != nil {
		t.Fatal(err)
	}
	if len(recounts) != 1 || !strings.Contains(recounts[0], "db") || !strings.Contains(recounts[0], "go") {
		t.Fatalf("tag count jobs %q, want one for db and go (the tags of the batch)", recounts)
	}
	// One follower notification job per author of the batch, naming each of its articles.
	argsText := "args::text"
	if data.Dialect(db) == migrations.SQLite {
		argsText = "json(args)" // SQLite stores them as binary JSON
	}
	var notify []string
	if err := db.NewSelect().Table("river_job").ColumnExpr(argsText).Where("kind = 'notify_followers'").Scan(ctx, &notify); err != nil {
		t.Fatal(err)
	}
	if len(notify) != 1 {
		t.Fatalf("follower notification jobs %q, want one (one author)", notify)
	}
	var ids []int64
	if err := db.NewSelect().Table("articles").Column("id").Order("id").Scan(ctx, &ids); err != nil {
		t.Fatal(err)
	}
	var args struct {
		ArticleIDs []int64 `json:"article_ids"`
	}
	if err := json.Unmarshal([]byte(notify[0]), &args); err != nil {
		t.Fatalf("notify_followers args %q: %v", notify[0], err)
	}
	slices.Sort(args.ArticleIDs)
	if !slices.Equal(args.ArticleIDs, ids) {
		t.Fatalf("the notification job names articles %v, want every imported one %v", args.ArticleIDs, ids)
	}
	out.Reset()
	if err := run(ctx, []string{"import", path}, env, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "3 duplicates") {
		t.Fatalf("second import:\n%s", out.String())
	}
}

func TestJobsListRetryCancel(t *testing.T) {
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	q, err := jobs.New(ctx, jobs.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Insert(ctx, probeArgs{N: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(res.Job.ID)
	env := envOf(map[string]string{"DATABASE_URL": url})
	cmd := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		if err := run(ctx, append([]string{"jobs"}, args...), env, &out); err != nil {
			t.Fatalf("jobs %v: %v", args, err)
		}
		return out.String()
	}
	row := regexp.MustCompile(`(?m)^` + id + `\s+probe\s+(\w+)`)
	state := func(out string) string {
		m := row.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("job %s not in:\n%s", id, out)
		}
		return m[1]
	}
	if s := state(cmd("list")); s != "available" {
		t.Fatalf("list: %s", s)
	}
	if s := state(cmd("cancel", id)); s != "cancelled" {
		t.Fatalf("cancel: %s", s)
	}
	if s := state(cmd("list", "cancelled")); s != "cancelled" {
		t.Fatalf("list cancelled: %s", s)
	}
	if s := state(cmd("retry", id)); s != "available" {
		t.Fatalf("retry: %s", s)
	}
	var ue startup.UsageError
	if err := run(ctx, []string{"jobs", "retry", "x"}, env, io.Discard); !errors.As(err, &ue) {
		t.Fatalf("retry x: %v", err)
	}
	if err := run(ctx, []string{"jobs", "list", "sleeping"}, env, io.Discard); !errors.As(err, &ue) {
		t.Fatalf("unknown state: %v", err)
	}
	if err := run(ctx, []string{"jobs", "cancel", "999999"}, env, io.Discard); err == nil {
		t.Fatal("cancel of a missing job succeeded")
	}
}

// probeArgs is the crash test's job: its effect is a row per N, and the job completes in the
// transaction that writes it.
type probeArgs struct {
	N int `json:"n"`
}

func (probeArgs) Kind() string { return "probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	db *bun.DB
}

func (w *probeWorker) Work(ctx context.Context, job *river.Job[probeArgs]) error {
	return w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// times counts runs that committed an effect: more than 1 would be a duplicate.
		_, err := tx.ExecContext(ctx, "INSERT INTO probe_effects (n, times) VALUES (?, 1) ON CONFLICT (n) DO UPDATE SET times = probe_effects.times + 1", job.Args.N)
		if err != nil {
			return err
		}
		return jobs.CompleteTx(ctx, tx, job)
	})
}

// Crash safety: a worker process working 1,000 jobs is killed with SIGKILL midway; a second
// one finishes. Every job's effect exists exactly once and every job is completed.
func TestCrashedWorkerLosesNoJobAndDuplicatesNoEffect(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the dead worker's leadership to expire")
	}
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE probe_effects (n INTEGER PRIMARY KEY, times INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, jobs.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	const total = 1000
	params := make([]river.InsertManyParams, total)
	for i := range params {
		params[i] = river.InsertManyParams{Args: probeArgs{N: i}}
	}
	if err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := q.InsertManyTx(ctx, tx, params)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	effects := func() (rows, dup int) {
		t.Helper()
		var r struct {
			Rows int `bun:"rows"`
			Dup  int `bun:"dup"`
		}
		err := db.NewRaw("SELECT count(*) AS rows, count(CASE WHEN times > 1 THEN 1 END) AS dup FROM probe_effects").Scan(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		return r.Rows, r.Dup
	}
	start := func(name string) (*exec.Cmd, *starttest.Buffer) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "BRISK_RUN_MAIN=1", "BRISK_ARGS=run --admin.addr=",
			"DATABASE_URL="+url, "DATABASE_AUTO_MIGRATE=false", "LOG_FORMAT=json",
			// A job is taken for lost 2s after its worker stopped answering for it.
			"JOBS_JOB_TIMEOUT=1s", "JOBS_RESCUE_AFTER=2s", "JOBS_CONCURRENCY=4")
		out := &starttest.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			if t.Failed() {
				t.Logf("%s output:\n%s", name, tail(out.String(), 3000))
			}
		})
		return cmd, out
	}
	first, _ := start("first worker")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if n, _ := effects(); n >= total/5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first worker made no progress in 60s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	done, _ := effects()
	if done >= total {
		t.Fatalf("the first worker finished all %d jobs before the kill: the test proves nothing", total)
	}
	t.Logf("killed the first worker after %d of %d effects", done, total)

	start("second worker")
	deadline = time.Now().Add(150 * time.Second)
	for {
		var unfinished int
		if err := db.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'probe' AND state <> 'completed'").Scan(ctx, &unfinished); err != nil {
			t.Fatal(err)
		}
		if unfinished == 0 {
			break
		}
		if time.Now().After(deadline) {
			n, _ := effects()
			var states []struct {
				State string `bun:"state"`
				N     int    `bun:"n"`
			}
			_ = db.NewRaw("SELECT state, count(*) AS n FROM river_job GROUP BY state").Scan(ctx, &states)
			t.Fatalf("after 150s: %d jobs unfinished, %d effects; jobs by state: %v", unfinished, n, states)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows, dup := effects()
	if rows != total || dup != 0 {
		t.Fatalf("effects: %d rows (want %d), %d duplicated", rows, total, dup)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
