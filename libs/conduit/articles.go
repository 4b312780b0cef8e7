package conduit

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// Articles reaches the articles table: the generic operations plus the listing, the feed and
// slug lookups.
type Articles struct {
	repository.Repository[Article]
	// Parallel, when set, runs a listing's count query on this pool concurrently with its page
	// query; nil runs them one after the other, which measured faster on 2 cores (docs/benchmarks.md).
	Parallel *pool.Pool
	// ParallelNow, when set, is asked before each listing whether to use Parallel now (the
	// runtime optimizer: in parallel for latency while load is low, in sequence for throughput
	// when it is high); nil: always, when Parallel is set.
	ParallelNow func() bool
	// Totals, when set, answers a listing's total for f outside a transaction, calling count
	// on a miss (a cache in front of the count, invalidated by the writes that change it); nil
	// counts every time. Counting every matching row costs what the table holds (the page
	// query reads 20 rows through an index, the count reads them all).
	Totals func(ctx context.Context, f ArticleFilter, count func(context.Context) (int64, error)) (int64, error)
}

// ArticleFilter narrows a listing. Zero fields do not filter.
type ArticleFilter struct {
	Tag         string // articles carrying this tag
	Author      string // articles written by this username
	FavoritedBy string // articles favorited by this username
	FeedOf      int64  // articles written by users this user follows
}

func (f ArticleFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	if f.Tag != "" {
		q = q.Where("a.id IN (SELECT at.article_id FROM article_tags AS at JOIN tags AS t ON t.id = at.tag_id WHERE t.name = ?)", f.Tag)
	}
	if f.Author != "" {
		q = q.Where("a.author_id = (SELECT au.id FROM users AS au WHERE au.username = ?)", f.Author)
	}
	if f.FavoritedBy != "" {
		q = q.Where("a.id IN (SELECT fa.article_id FROM favorites AS fa JOIN users AS fu ON fu.id = fa.user_id WHERE fu.username = ?)", f.FavoritedBy)
	}
	if f.FeedOf != 0 {
		q = q.Where("a.author_id IN (SELECT ff.followee_id FROM follows AS ff WHERE ff.follower_id = ?)", f.FeedOf)
	}
	return q
}

// viewQuery selects articles with their author, favorite count, and whether viewerID (0:
// anonymous) favorited the article and follows its author: one row per article, no extra
// query per row.
func viewQuery(db bun.IDB, viewerID int64, withBody bool) *bun.SelectQuery {
	q := db.NewSelect().TableExpr("articles AS a").
		Join("JOIN users AS u ON u.id = a.author_id").
		ColumnExpr("a.id, a.slug, a.title, a.description, a.created_at, a.updated_at, a.favorites_count").
		ColumnExpr("u.id AS author_id, u.username AS author_username, u.bio AS author_bio, u.image AS author_image").
		ColumnExpr("? AS author_following", followingExpr("a.author_id", viewerID))
	if withBody {
		q = q.ColumnExpr("a.body")
	}
	if viewerID == 0 {
		return q.ColumnExpr("FALSE AS favorited")
	}
	return q.ColumnExpr("EXISTS (SELECT 1 FROM favorites AS f WHERE f.article_id = a.id AND f.user_id = ?) AS favorited", viewerID)
}

// List returns one page of articles matching f, newest first, as viewerID sees them, with the
// total number that match. It costs three queries whatever the page size: the count, the page,
// and the page's tags. Bodies are left out: listings do not show them.
//
// With a Parallel pool and db the database itself (not a transaction, whose one connection
// cannot run two statements at once), the count runs on the pool while the caller runs the page
// query, under the same ctx; the result is the same.
func (r Articles) List(ctx context.Context, db bun.IDB, f ArticleFilter, viewerID int64, page repository.Page) ([]ArticleView, int, error) {
	if _, isDB := db.(*bun.DB); r.Parallel == nil || !isDB || page.Limit <= 0 || (r.ParallelNow != nil && !r.ParallelNow()) {
		return r.listSequential(ctx, db, f, viewerID, page)
	}
	count := pool.Submit(ctx, r.Parallel, func(ctx context.Context) (int64, error) {
		return r.total(ctx, db, f)
	})
	views, pageErr := listPage(ctx, db, f, viewerID, page)
	total, err := count.Await(ctx)
	if errors.Is(err, pool.ErrStopped) {
		// The pool stopped under us (shutdown): the count still has to be answered.
		total, err = r.total(ctx, db, f)
	}
	if err != nil {
		return nil, 0, err
	}
	if pageErr != nil {
		return nil, 0, pageErr
	}
	if int64(page.Offset) >= total {
		// What the sequential path answers without asking for the page.
		return []ArticleView{}, int(total), nil
	}
	if err := attachTags(ctx, db, views); err != nil {
		return nil, 0, err
	}
	return views, int(total), nil
}

func (r Articles) listSequential(ctx context.Context, db bun.IDB, f ArticleFilter, viewerID int64, page repository.Page) ([]ArticleView, int, error) {
	total, err := r.total(ctx, db, f)
	if err != nil {
		return nil, 0, err
	}
	if page.Limit <= 0 || int64(page.Offset) >= total {
		return []ArticleView{}, int(total), nil
	}
	views, err := listPage(ctx, db, f, viewerID, page)
	if err != nil {
		return nil, 0, err
	}
	if err := attachTags(ctx, db, views); err != nil {
		return nil, 0, err
	}
	return views, int(total), nil
}

// total is how many articles match f: through Totals when set and db is the database itself
// (a transaction may see its own uncommitted rows, which no cached total knows of).
func (r Articles) total(ctx context.Context, db bun.IDB, f ArticleFilter) (int64, error) {
	if _, isDB := db.(*bun.DB); r.Totals == nil || !isDB {
		return countArticles(ctx, db, f)
	}
	return r.Totals(ctx, f, func(ctx context.Context) (int64, error) { return countArticles(ctx, db, f) })
}

func countArticles(ctx context.Context, db bun.IDB, f ArticleFilter) (int64, error) {
	total, err := f.apply(db.NewSelect().TableExpr("articles AS a")).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count articles: %w", err)
	}
	return total, nil
}

// listPage reads the page without its tags.
func listPage(ctx context.Context, db bun.IDB, f ArticleFilter, viewerID int64, page repository.Page) ([]ArticleView, error) {
	views := []ArticleView{}
	err := f.apply(viewQuery(db, viewerID, false)).
		OrderExpr("a.created_at DESC, a.id DESC").
		Limit(int64(page.Limit)).
		Offset(int64(page.Offset)).
		Scan(ctx, &views)
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	return views, nil
}

// View returns the article with that id, body included, as viewerID sees it.
func (Articles) View(ctx context.Context, db bun.IDB, id, viewerID int64) (*ArticleView, error) {
	views := make([]ArticleView, 0, 1)
	if err := viewQuery(db, viewerID, true).Where("a.id = ?", id).Limit(1).Scan(ctx, &views); err != nil {
		return nil, fmt.Errorf("view article %d: %w", id, err)
	}
	if len(views) == 0 {
		return nil, fmt.Errorf("view article %d: %w", id, repository.ErrNotFound)
	}
	if err := attachTags(ctx, db, views); err != nil {
		return nil, err
	}
	return &views[0], nil
}

// FindBySlug returns the article with that slug, or repository.ErrNotFound.
func (Articles) FindBySlug(ctx context.Context, db bun.IDB, slug string) (*Article, error) {
	var rows []Article
	if err := db.NewSelect().Model(&rows).Where("a.slug = ?", slug).Limit(1).Scan(ctx); err != nil {
		return nil, fmt.Errorf("find article %q: %w", slug, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("find article %q: %w", slug, repository.ErrNotFound)
	}
	return &rows[0], nil
}

// SlugExists reports whether some article already uses slug.
func (Articles) SlugExists(ctx context.Context, db bun.IDB, slug string) (bool, error) {
	ok, err := db.NewSelect().Model((*Article)(nil)).Where("a.slug = ?", slug).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("check slug %q: %w", slug, err)
	}
	return ok, nil
}

// AddFavorites moves the article's favorite count by delta. It runs in the transaction that
// inserted or deleted the Favorite row, so the count never drifts from the rows.
func (Articles) AddFavorites(ctx context.Context, db bun.IDB, articleID int64, delta int) error {
	_, err := db.NewUpdate().Model((*Article)(nil)).
		Set("favorites_count = favorites_count + ?", delta).
		Where("id = ?", articleID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("count favorite on article %d: %w", articleID, err)
	}
	return nil
}

func attachTags(ctx context.Context, db bun.IDB, views []ArticleView) error {
	if len(views) == 0 {
		return nil
	}
	ids := make([]int64, len(views))
	for i := range views {
		ids[i] = views[i].ID
	}
	byArticle, err := Tags{}.ForArticles(ctx, db, ids)
	if err != nil {
		return err
	}
	for i := range views {
		views[i].TagList = byArticle[views[i].ID]
		if views[i].TagList == nil {
			views[i].TagList = []string{}
		}
	}
	return nil
}

// Favorites reaches the favorites table.
type Favorites struct{}

// Add records fav and reports whether it was new; favoriting twice is not an error.
func (Favorites) Add(ctx context.Context, db bun.IDB, fav *Favorite) (bool, error) {
	res, err := db.NewInsert().Model(fav).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("favorite: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("favorite: rows affected: %w", err)
	}
	return n == 1, nil
}

// Remove deletes userID's favorite of articleID and reports whether there was one.
func (Favorites) Remove(ctx context.Context, db bun.IDB, userID, articleID int64) (bool, error) {
	res, err := db.NewDelete().Model((*Favorite)(nil)).
		Where("user_id = ?", userID).
		Where("article_id = ?", articleID).
		Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("unfavorite: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("unfavorite: rows affected: %w", err)
	}
	return n == 1, nil
}
