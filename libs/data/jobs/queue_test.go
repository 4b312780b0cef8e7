package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/events"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// database/sql's connection opener lives until its DB is closed at the end of the binary.
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type noteArgs struct {
	Text string `json:"text"`
}

func (noteArgs) Kind() string { return "note" }

// noteWorker writes its note to the notes table, so a test can see what ran.
type noteWorker struct {
	river.WorkerDefaults[noteArgs]
	db *bun.DB
}

func (w *noteWorker) Work(ctx context.Context, job *river.Job[noteArgs]) error {
	_, err := w.db.NewRaw("INSERT INTO test_notes (text) VALUES (?)", job.Args.Text).Exec(ctx)
	return err
}

type failArgs struct{}

func (failArgs) Kind() string { return "always_fails" }

type failWorker struct{ river.WorkerDefaults[failArgs] }

func (failWorker) Work(context.Context, *river.Job[failArgs]) error {
	return errors.New("broken on purpose")
}

func setup(t *testing.T, work bool) (*bun.DB, *jobs.Queue) {
	t.Helper()
	db, url := datatest.NewWithURL(t)
	if _, err := db.ExecContext(context.Background(), "CREATE TABLE test_notes (text TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	cfg := jobs.Config{DB: db, URL: url, Logger: quiet, PollInterval: 50 * time.Millisecond}
	if work {
		w := river.NewWorkers()
		river.AddWorker(w, &noteWorker{db: db})
		river.AddWorker(w, failWorker{})
		cfg.Workers = w
	}
	q, err := jobs.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Stop(context.Background()) })
	return db, q
}

func countJobs(t *testing.T, db *bun.DB, kind string) int {
	t.Helper()
	n, err := db.NewSelect().Table("river_job").Where("kind = ?", kind).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func notes(t *testing.T, db *bun.DB) []string {
	t.Helper()
	var out []string
	if err := db.NewSelect().Table("test_notes").Column("text").Order("text").Scan(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 30s: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A job inserted in a write's transaction exists exactly when the write commits.
func TestInsertTxFollowsTheTransaction(t *testing.T) {
	t.Parallel()
	db, q := setup(t, false)
	ctx := context.Background()
	rollback := errors.New("roll back")
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewRaw("INSERT INTO test_notes (text) VALUES ('rolled back')").Exec(ctx); err != nil {
			return err
		}
		if _, err := q.InsertTx(ctx, tx, noteArgs{Text: "rolled back"}, nil); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if n := countJobs(t, db, "note"); n != 0 {
		t.Fatalf("rolled-back transaction left %d jobs", n)
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := q.InsertTx(ctx, tx, noteArgs{Text: "committed"}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countJobs(t, db, "note"); n != 1 {
		t.Fatalf("committed transaction: %d jobs, want 1", n)
	}
}

func TestQueueWorksJobsAndStops(t *testing.T) {
	t.Parallel()
	db, q := setup(t, true)
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal("second Start:", err)
	}
	for _, s := range []string{"a", "b", "c"} {
		if _, err := q.Insert(ctx, noteArgs{Text: s}, nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three notes written", func() bool { return len(notes(t, db)) == 3 })
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal("second Stop:", err)
	}
}

// A job that keeps failing is retried up to its limit and then kept, discarded, for
// inspection; retry makes it available again and cancel ends it.
func TestDiscardedJobsAreKeptAndCanBeRetriedOrCancelled(t *testing.T) {
	t.Parallel()
	_, q := setup(t, true)
	ctx := context.Background()
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := q.Insert(ctx, failArgs{}, &river.InsertOpts{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Job.ID
	waitFor(t, "job discarded", func() bool {
		rows, err := q.List(ctx, 10, rivertype.JobStateDiscarded)
		return err == nil && len(rows) == 1 && rows[0].ID == id && len(rows[0].Errors) == 1
	})
	if err := q.Stop(ctx); err != nil { // stop working so retry leaves it available
		t.Fatal(err)
	}
	row, err := q.Retry(ctx, id)
	if err != nil || row.State != rivertype.JobStateAvailable {
		t.Fatalf("retry: %v %v", row, err)
	}
	row, err = q.Cancel(ctx, id)
	if err != nil || row.State != rivertype.JobStateCancelled {
		t.Fatalf("cancel: %v %v", row, err)
	}
	if _, err := q.Retry(ctx, 1<<40); err == nil {
		t.Fatal("retry of a missing job succeeded")
	}
}

type articleCreated struct {
	Slug string `json:"slug"`
}

// A queued listener becomes a job in the transaction of the write (none if it rolls back) and
// is delivered to the listener by the worker.
func TestQueuedListenerRunsThroughTheQueue(t *testing.T) {
	t.Parallel()
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	d, err := events.New[articleCreated](events.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	ew := jobs.NewEventWorker()
	jobs.HandleEvents(ew, "article_created", d)
	w := river.NewWorkers()
	river.AddWorker(w, ew)
	q, err := jobs.New(ctx, jobs.Config{DB: db, URL: url, Workers: w, Logger: quiet, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	var mu sync.Mutex
	var got []string
	err = d.Listen("index", func(_ context.Context, e articleCreated) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, e.Slug)
		return nil
	}, events.Queued[articleCreated](jobs.EventQueuer[articleCreated]{Queue: q, Event: "article_created"}))
	if err != nil {
		t.Fatal(err)
	}
	publish := func(slug string, fail error) error {
		return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := d.Dispatch(jobs.WithTx(ctx, tx), articleCreated{Slug: slug}); err != nil {
				return err
			}
			return fail
		})
	}
	rollback := errors.New("roll back")
	if err := publish("rolled-back", rollback); !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if n := countJobs(t, db, "event"); n != 0 {
		t.Fatalf("rolled-back write left %d event jobs", n)
	}
	if err := publish("hello", nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "listener ran", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if got[0] != "hello" {
		t.Fatalf("delivered %v", got)
	}
}
