// Package conduitjobs holds the background jobs of the Conduit domain: notifying followers of
// a new article (fan-out in batches through a perfcore pipeline), keeping tag popularity
// counts, and a periodic clean-up. Every handler is idempotent — River runs jobs at least
// once — and each kind has its own attempt limit; River backs off exponentially between
// attempts and keeps the jobs it discards.
package conduitjobs

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/pipeline"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/migrations"
)

// Deps are what the workers need.
type Deps struct {
	DB     *bun.DB
	Logger *slog.Logger
	// Now is the clock for timestamps and retention (default time.Now).
	Now func() time.Time
	// BatchSize is how many followers one notification insert covers (default 500).
	BatchSize int
	// Pool, when set, runs the notify_followers pipeline's stage calls as its tasks
	// (pipeline.OnPool); nil runs them on the pipeline's own goroutines.
	Pool *pool.Pool
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.BatchSize <= 0 {
		d.BatchSize = 500
	}
	return d
}

// Register adds every Conduit worker to workers.
func Register(workers *river.Workers, deps Deps) error {
	deps = deps.withDefaults()
	if err := river.AddWorkerSafely(workers, NewNotifyFollowersWorker(deps)); err != nil {
		return fmt.Errorf("conduitjobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, NewTagCountsWorker(deps)); err != nil {
		return fmt.Errorf("conduitjobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, NewCleanupWorker(deps)); err != nil {
		return fmt.Errorf("conduitjobs: %w", err)
	}
	return nil
}

// Work is every Conduit job kind, ready for a queue that works them, and the schedule of the
// periodic ones: what the worker (and the API on the embedded default) runs.
func Work(deps Deps) (*river.Workers, []*river.PeriodicJob, error) {
	workers := river.NewWorkers()
	if err := Register(workers, deps); err != nil {
		return nil, nil, err
	}
	return workers, PeriodicJobs(), nil
}

// PeriodicJobs is the schedule: the clean-up every hour, and once when a leader starts.
func PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return CleanupArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "cleanup"}),
	}
}

// ArticlePublished enqueues, in tx, what follows the publication of an article: the followers'
// notifications and the counts of its tags.
func ArticlePublished(ctx context.Context, q *jobs.Queue, tx bun.Tx, articleID, authorID int64, tags []string) error {
	return ArticlesPublished(ctx, q, tx, []conduit.ArticlePublished{{ArticleID: articleID, AuthorID: authorID, Tags: tags}})
}

// ArticlesPublished enqueues, in tx and in one statement, what follows the publication of
// several articles: one notification job per author, for that author's articles (a bulk
// import of 20,000 articles by ten authors writes a few dozen jobs, not 20,000), and one
// recount of all their tags.
func ArticlesPublished(ctx context.Context, q *jobs.Queue, tx bun.Tx, es []conduit.ArticlePublished) error {
	if len(es) == 0 {
		return nil
	}
	var authors []int64 // in the order they first appear
	articles := map[int64][]int64{}
	var tags []string
	for _, e := range es {
		if _, seen := articles[e.AuthorID]; !seen {
			authors = append(authors, e.AuthorID)
		}
		articles[e.AuthorID] = append(articles[e.AuthorID], e.ArticleID)
		tags = append(tags, e.Tags...)
	}
	params := make([]river.InsertManyParams, 0, len(authors)+1)
	for _, author := range authors {
		params = append(params, river.InsertManyParams{Args: NotifyFollowersArgs{AuthorID: author, ArticleIDs: articles[author]}})
	}
	if len(tags) > 0 {
		slices.Sort(tags)
		params = append(params, river.InsertManyParams{Args: TagCountsArgs{Tags: slices.Compact(tags)}})
	}
	_, err := q.InsertManyTx(ctx, tx, params)
	return err
}

// TagsChanged enqueues, in tx, a recount of tags (after an article's tags changed or it was
// deleted).
func TagsChanged(ctx context.Context, q *jobs.Queue, tx bun.Tx, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	_, err := q.InsertTx(ctx, tx, TagCountsArgs{Tags: tags}, nil)
	return err
}

// Notification tells a user about an article.
type Notification struct {
	bun.BaseModel `bun:"table:notifications,alias:n"`

	ID        int64        `bun:"id,pk,autoincrement"`
	UserID    int64        `bun:"user_id,notnull"`
	ArticleID int64        `bun:"article_id,notnull"`
	Kind      string       `bun:"kind,notnull"`
	CreatedAt time.Time    `bun:"created_at,notnull"`
	ReadAt    bun.NullTime `bun:"read_at"`
}

// TagCount is how many articles carry a tag.
type TagCount struct {
	bun.BaseModel `bun:"table:tag_counts,alias:tc"`

	Tag       string    `bun:"tag,pk"`
	Articles  int       `bun:"articles,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// KindArticlePublished is Notification.Kind for a new article by someone the user follows.
const KindArticlePublished = "article_published"

// NotifyFollowersArgs asks for a notification to every follower of the author, for each of
// the author's articles in ArticleIDs.
type NotifyFollowersArgs struct {
	AuthorID   int64   `json:"author_id"`
	ArticleIDs []int64 `json:"article_ids"`
	// ArticleID is the single article of a job enqueued before ArticleIDs existed: read (a
	// queue may still hold such jobs after an upgrade), never written.
	ArticleID int64 `json:"article_id,omitempty"`
}

// articles is every article the job is about.
func (a NotifyFollowersArgs) articles() []int64 {
	if a.ArticleID != 0 && !slices.Contains(a.ArticleIDs, a.ArticleID) {
		return append(slices.Clone(a.ArticleIDs), a.ArticleID)
	}
	return a.ArticleIDs
}

// Kind implements river.JobArgs.
func (NotifyFollowersArgs) Kind() string { return "notify_followers" }

// InsertOpts makes the job unique by its arguments: one fan-out per publication (or per
// batch of an import), however many times the event is raised.
func (NotifyFollowersArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// NotifyFollowersWorker fans publications out to the author's followers: a notification per
// follower and article, one batch of rows per insert, reading the next page of followers
// while the previous one is written.
type NotifyFollowersWorker struct {
	river.WorkerDefaults[NotifyFollowersArgs]
	deps Deps
}

// NewNotifyFollowersWorker returns the fan-out worker.
func NewNotifyFollowersWorker(deps Deps) *NotifyFollowersWorker {
	return &NotifyFollowersWorker{deps: deps.withDefaults()}
}

// Work implements river.Worker. Re-running it inserts nothing twice (unique index).
func (w *NotifyFollowersWorker) Work(ctx context.Context, job *river.Job[NotifyFollowersArgs]) error {
	db := w.deps.DB
	wanted := job.Args.articles()
	if len(wanted) == 0 {
		return nil
	}
	var articles []int64 // those not deleted before we got to them: nobody to tell of the rest
	err := db.NewSelect().Table("articles").Column("id").Where("id IN (?)", bun.List(wanted)).Order("id").Scan(ctx, &articles)
	if err != nil {
		return fmt.Errorf("notify followers: find articles %v: %w", wanted, err)
	}
	if len(articles) == 0 {
		return nil
	}
	// A page of followers makes len(articles) rows each: keep a batch near BatchSize rows.
	pageSize := max(1, w.deps.BatchSize/len(articles))
	var pageErr error
	pages := func(yield func([]int64) bool) {
		var after int64
		for {
			var ids []int64
			err := db.NewSelect().Table("follows").Column("follower_id").
				Where("followee_id = ? AND follower_id > ?", job.Args.AuthorID, after).
				Order("follower_id").Limit(int64(pageSize)).Scan(ctx, &ids)
			if err != nil {
				pageErr = err
				return
			}
			if len(ids) == 0 || !yield(ids) {
				return
			}
			after = ids[len(ids)-1]
		}
	}
	now := w.deps.Now().UTC()
	build := pipeline.NewStage("build", func(_ context.Context, ids []int64) ([]Notification, error) {
		rows := make([]Notification, 0, len(ids)*len(articles))
		for _, id := range ids {
			for _, a := range articles {
				rows = append(rows, Notification{UserID: id, ArticleID: a, Kind: KindArticlePublished, CreatedAt: now})
			}
		}
		return rows, nil
	})
	// SQLite has one writer at a time; PostgreSQL takes two batches at once.
	writers := 1
	if data.Dialect(db) == migrations.Postgres {
		writers = 2
	}
	write := pipeline.NewStage("write", func(ctx context.Context, rows []Notification) (int64, error) {
		res, err := db.NewInsert().Model(&rows).On("CONFLICT (user_id, article_id, kind) DO NOTHING").Exec(ctx)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		return n, nil
	}, pipeline.Workers(writers))
	p := pipeline.Then(pipeline.From("notify_followers", build), write)
	if w.deps.Pool != nil {
		p = p.OnPool(w.deps.Pool)
	}
	var inserted int64
	err = p.Run(ctx, iter.Seq[[]int64](pages), func(_ context.Context, n int64) error { inserted += n; return nil })
	if err == nil {
		err = pageErr
	}
	if err != nil {
		return fmt.Errorf("notify followers of articles %v: %w", articles, err)
	}
	w.deps.Logger.DebugContext(ctx, "followers notified", "article_ids", articles, "inserted", inserted)
	return nil
}

// TagCountsArgs asks for the counts of tags to be recomputed.
type TagCountsArgs struct {
	Tags []string `json:"tags"`
}

// Kind implements river.JobArgs.
func (TagCountsArgs) Kind() string { return "tag_counts" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (TagCountsArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// TagCountsWorker recomputes tag counts from article_tags: idempotent by construction.
type TagCountsWorker struct {
	river.WorkerDefaults[TagCountsArgs]
	deps Deps
}

// NewTagCountsWorker returns the tag counts worker.
func NewTagCountsWorker(deps Deps) *TagCountsWorker {
	return &TagCountsWorker{deps: deps.withDefaults()}
}

// Work implements river.Worker.
func (w *TagCountsWorker) Work(ctx context.Context, job *river.Job[TagCountsArgs]) error {
	if len(job.Args.Tags) == 0 {
		return nil
	}
	db := w.deps.DB
	var counts []struct {
		Name string `bun:"name"`
		N    int    `bun:"n"`
	}
	err := db.NewSelect().TableExpr("tags AS t").
		ColumnExpr("t.name AS name").ColumnExpr("count(at.article_id) AS n").
		Join("LEFT JOIN article_tags AS at ON at.tag_id = t.id").
		Where("t.name IN (?)", bun.List(job.Args.Tags)).
		Group("t.name").Scan(ctx, &counts)
	if err != nil {
		return fmt.Errorf("tag counts: count: %w", err)
	}
	now := w.deps.Now().UTC()
	found := map[string]int{}
	for _, c := range counts {
		found[c.Name] = c.N
	}
	rows := make([]TagCount, 0, len(job.Args.Tags))
	seen := map[string]bool{}
	for _, t := range job.Args.Tags {
		if seen[t] {
			continue
		}
		seen[t] = true
		rows = append(rows, TagCount{Tag: t, Articles: found[t], UpdatedAt: now})
	}
	// One statement, its rows in a stable order: PostgreSQL locks the rows of a multi-row
	// upsert one by one in the order given, so two jobs listing the same tags in different
	// orders would each hold a lock the other wants (a deadlock). Sorted, every job takes
	// its locks in the same order.
	slices.SortFunc(rows, func(a, b TagCount) int { return strings.Compare(a.Tag, b.Tag) })
	_, err = db.NewInsert().Model(&rows).
		On("CONFLICT (tag) DO UPDATE").
		Set("articles = EXCLUDED.articles").Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("tag counts: store: %w", err)
	}
	return nil
}

// CleanupArgs asks for the periodic clean-up.
type CleanupArgs struct{}

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return "cleanup" }

// InsertOpts makes the clean-up unique per hour, so several leaders in a row (deploys) do not
// stack runs.
func (CleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// Retention of the clean-up.
const (
	ReadNotificationsKept = 30 * 24 * time.Hour
	NotificationsKept     = 90 * 24 * time.Hour
)

// CleanupWorker removes old notifications and counts of tags no article carries.
type CleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	deps Deps
}

// NewCleanupWorker returns the clean-up worker.
func NewCleanupWorker(deps Deps) *CleanupWorker { return &CleanupWorker{deps: deps.withDefaults()} }

// Work implements river.Worker.
func (w *CleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	now := w.deps.Now().UTC()
	db := w.deps.DB
	if _, err := db.NewDelete().Model((*Notification)(nil)).
		WhereGroup(" AND ", func(q *bun.DeleteQuery) *bun.DeleteQuery {
			return q.Where("read_at IS NOT NULL AND read_at < ?", now.Add(-ReadNotificationsKept)).
				WhereOr("created_at < ?", now.Add(-NotificationsKept))
		}).Exec(ctx); err != nil {
		return fmt.Errorf("cleanup: notifications: %w", err)
	}
	if _, err := db.NewDelete().Model((*TagCount)(nil)).Where("articles = 0").Exec(ctx); err != nil {
		return fmt.Errorf("cleanup: tag counts: %w", err)
	}
	// Stored outcomes of Idempotency-Key requests past their expiry (migration 000004).
	if _, err := db.NewRaw("DELETE FROM idempotency_keys WHERE expires_at <= ?", now.Unix()).Exec(ctx); err != nil {
		return fmt.Errorf("cleanup: idempotency keys: %w", err)
	}
	return nil
}
