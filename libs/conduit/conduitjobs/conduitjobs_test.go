package conduitjobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
	"go.uber.org/goleak"

	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func exec(t *testing.T, db bun.IDB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func user(t *testing.T, db *bun.DB, name string) int64 {
	t.Helper()
	exec(t, db, "INSERT INTO users (username, email, password_hash) VALUES (?, ?, 'x')", name, name+"@example.com")
	var id int64
	if err := db.NewRaw("SELECT id FROM users WHERE username = ?", name).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func article(t *testing.T, db *bun.DB, slug string, author int64, tags ...string) int64 {
	t.Helper()
	exec(t, db, "INSERT INTO articles (slug, title, description, body, author_id) VALUES (?, ?, 'd', 'b', ?)", slug, slug, author)
	var id int64
	if err := db.NewRaw("SELECT id FROM articles WHERE slug = ?", slug).Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
		exec(t, db, "INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO NOTHING", tag)
		exec(t, db, "INSERT INTO article_tags (article_id, tag_id) SELECT ?, id FROM tags WHERE name = ?", id, tag)
	}
	return id
}

func count(t *testing.T, db *bun.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func job[T river.JobArgs](args T) *river.Job[T] {
	return &river.Job[T]{Args: args}
}

// The fan-out reaches every follower across several batches, and running it again (River
// runs jobs at least once) adds nothing.
func TestNotifyFollowersIsCompleteAndIdempotent(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := context.Background()
	author := user(t, db, "author")
	stranger := user(t, db, "stranger")
	const followers = 1203
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for i := range followers {
			if _, err := tx.ExecContext(ctx, "INSERT INTO users (username, email, password_hash) VALUES (?, ?, 'x')", fmt.Sprint("f", i), fmt.Sprint("f", i, "@example.com")); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO follows (follower_id, followee_id) SELECT id, ? FROM users WHERE username LIKE 'f%'", author)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := article(t, db, "news", author)
	b := article(t, db, "more-news", author)
	gone := article(t, db, "retracted", author)
	exec(t, db, "DELETE FROM articles WHERE id = ?", gone)
	run := func(p *pool.Pool, args conduitjobs.NotifyFollowersArgs) {
		t.Helper()
		wk := conduitjobs.NewNotifyFollowersWorker(conduitjobs.Deps{DB: db, Logger: quiet, BatchSize: 500, Pool: p})
		if err := wk.Work(ctx, job(args)); err != nil {
			t.Fatal(err)
		}
	}
	// The first run's stages are tasks of a pool (as in the worker), the second's run inline.
	stages, err := pool.New(pool.Config{Name: "stages", MaxWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := stages.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A job enqueued before ArticleIDs existed (article_id only).
	run(stages, conduitjobs.NotifyFollowersArgs{AuthorID: author, ArticleID: a})
	if err := stages.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if st := stages.Stats(); st.Completed == 0 {
		t.Errorf("no stage call of notify_followers ran on the pool: %+v", st)
	}
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE article_id = ?", a); n != followers {
		t.Fatalf("article_id only: %d notifications, want %d", n, followers)
	}
	// One job for several articles of the author (an import's batch), one of them deleted
	// before the job ran, one already done.
	run(nil, conduitjobs.NotifyFollowersArgs{AuthorID: author, ArticleIDs: []int64{a, gone, b}})
	for _, id := range []int64{a, b} {
		if n := count(t, db, "SELECT count(*) FROM notifications WHERE article_id = ?", id); n != followers {
			t.Fatalf("article %d: %d notifications, want %d", id, n, followers)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE article_id = ?", gone); n != 0 {
		t.Fatalf("%d notifications of a deleted article", n)
	}
	if n := count(t, db, "SELECT count(*) FROM notifications WHERE user_id = ?", stranger); n != 0 {
		t.Fatal("a non-follower was notified")
	}
	// Every article deleted before the job ran: nothing to do, no error.
	exec(t, db, "DELETE FROM articles WHERE id IN (?, ?)", a, b)
	run(nil, conduitjobs.NotifyFollowersArgs{AuthorID: author, ArticleIDs: []int64{a, b}})
	run(nil, conduitjobs.NotifyFollowersArgs{AuthorID: author})
}

func TestTagCountsRecomputeAndCleanup(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := context.Background()
	u := user(t, db, "u")
	a1 := article(t, db, "a1", u, "go", "db")
	article(t, db, "a2", u, "go")
	deps := conduitjobs.Deps{DB: db, Logger: quiet}
	counts := conduitjobs.NewTagCountsWorker(deps)
	args := conduitjobs.TagCountsArgs{Tags: []string{"go", "db", "go", "never"}}
	for range 2 {
		if err := counts.Work(ctx, job(args)); err != nil {
			t.Fatal(err)
		}
	}
	get := func(tag string) int {
		return count(t, db, "SELECT articles FROM tag_counts WHERE tag = ?", tag)
	}
	if get("go") != 2 || get("db") != 1 || get("never") != 0 {
		t.Fatalf("counts: go=%d db=%d never=%d", get("go"), get("db"), get("never"))
	}
	exec(t, db, "DELETE FROM articles WHERE id = ?", a1)
	if err := counts.Work(ctx, job(conduitjobs.TagCountsArgs{Tags: []string{"go", "db"}})); err != nil {
		t.Fatal(err)
	}
	if get("go") != 1 || get("db") != 0 {
		t.Fatalf("after delete: go=%d db=%d", get("go"), get("db"))
	}

	// Clean-up: zero counts go; old notifications go, recent unread ones stay.
	a2 := count(t, db, "SELECT id FROM articles WHERE slug = 'a2'")
	now := time.Now().UTC()
	for i, n := range []conduitjobs.Notification{
		{UserID: u, ArticleID: int64(a2), Kind: "old", CreatedAt: now.Add(-100 * 24 * time.Hour)},
		{UserID: u, ArticleID: int64(a2), Kind: "read", CreatedAt: now.Add(-40 * 24 * time.Hour), ReadAt: bun.NullTime{Time: now.Add(-35 * 24 * time.Hour)}},
		{UserID: u, ArticleID: int64(a2), Kind: "fresh", CreatedAt: now.Add(-40 * 24 * time.Hour)},
	} {
		if _, err := db.NewInsert().Model(&n).Exec(ctx); err != nil {
			t.Fatal(i, err)
		}
	}
	exec(t, db, "INSERT INTO idempotency_keys (user_id, idem_key, request_hash, status, created_at, expires_at) VALUES (0, 'old', 'h', 201, ?, ?), (0, 'live', 'h', 201, ?, ?)",
		now.Add(-48*time.Hour).Unix(), now.Add(-24*time.Hour).Unix(), now.Unix(), now.Add(24*time.Hour).Unix())
	cleanup := conduitjobs.NewCleanupWorker(conduitjobs.Deps{DB: db, Logger: quiet, Now: func() time.Time { return now }})
	if err := cleanup.Work(ctx, job(conduitjobs.CleanupArgs{})); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	if err := db.NewSelect().Table("notifications").Column("kind").Scan(ctx, &kinds); err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 1 || kinds[0] != "fresh" {
		t.Fatalf("after cleanup: %v", kinds)
	}
	if n := count(t, db, "SELECT count(*) FROM tag_counts WHERE articles = 0"); n != 0 {
		t.Fatalf("%d zero counts left", n)
	}
	if n := count(t, db, "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'old'"); n != 0 {
		t.Fatal("expired idempotency key kept")
	}
	if n := count(t, db, "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'live'"); n != 1 {
		t.Fatal("live idempotency key removed")
	}
}

// End to end: the publication's jobs are inserted in the write's transaction, the fan-out is
// unique per article, and a worker runs them.
func TestArticlePublishedThroughTheQueue(t *testing.T) {
	t.Parallel()
	db, url := datatest.NewWithURL(t)
	ctx := context.Background()
	author, fan := user(t, db, "author"), user(t, db, "fan")
	exec(t, db, "INSERT INTO follows (follower_id, followee_id) VALUES (?, ?)", fan, author)
	workers := river.NewWorkers()
	if err := conduitjobs.Register(workers, conduitjobs.Deps{DB: db, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, jobs.Config{DB: db, URL: url, Workers: workers, Logger: quiet, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	a := article(t, db, "hello", author, "go")
	for range 2 { // the second publication of the same article is deduplicated
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return conduitjobs.ArticlePublished(ctx, q, tx, a, author, []string{"go"})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, "SELECT count(*) FROM river_job WHERE kind = 'notify_followers'"); n != 1 {
		t.Fatalf("%d fan-out jobs for one article", n)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(t, db, "SELECT count(*) FROM notifications WHERE user_id = ?", fan) != 1 ||
		count(t, db, "SELECT count(*) FROM tag_counts WHERE tag = 'go' AND articles = 1") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("jobs did not run within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
