package conduit

import (
	"context"
	"errors"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/events"
)

// The domain's events: what happened, raised by the services inside the transaction that
// made it happen. Listeners (package listeners) react: in the transaction (jobs inserted
// with it), after it commits (cache invalidation), or on the goroutine pool (cache warming).

// ArticlePublished says a new article exists.
type ArticlePublished struct {
	ArticleID int64    `json:"article_id"`
	AuthorID  int64    `json:"author_id"`
	Slug      string   `json:"slug"`
	Tags      []string `json:"tags"`
}

// ArticleUpdated says an article's fields changed. OldTags and Tags differ only when TagsChanged.
type ArticleUpdated struct {
	ArticleID   int64    `json:"article_id"`
	AuthorID    int64    `json:"author_id"`
	Slug        string   `json:"slug"`
	OldSlug     string   `json:"old_slug"`
	TagsChanged bool     `json:"tags_changed"`
	OldTags     []string `json:"old_tags"`
	Tags        []string `json:"tags"`
}

// ArticleDeleted says an article is gone, with its comments, favorites and tag links.
type ArticleDeleted struct {
	ArticleID int64    `json:"article_id"`
	AuthorID  int64    `json:"author_id"`
	Slug      string   `json:"slug"`
	Tags      []string `json:"tags"`
}

// ArticleFavorited says a user favorited an article (not raised when it already was).
type ArticleFavorited struct {
	ArticleID int64  `json:"article_id"`
	UserID    int64  `json:"user_id"`
	Slug      string `json:"slug"`
}

// ArticleUnfavorited says a user took back a favorite (not raised when there was none).
type ArticleUnfavorited ArticleFavorited

// UserRegistered says a new account exists.
type UserRegistered struct {
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
}

// UserUpdated says an account's fields changed.
type UserUpdated struct {
	UserID      int64  `json:"user_id"`
	Username    string `json:"username"`
	OldUsername string `json:"old_username"`
}

// UserFollowed says FollowerID now follows FolloweeID (not raised when it already did).
type UserFollowed struct {
	FollowerID int64 `json:"follower_id"`
	FolloweeID int64 `json:"followee_id"`
}

// UserUnfollowed says FollowerID no longer follows FolloweeID (not raised when it did not).
type UserUnfollowed UserFollowed

// CommentAdded says a comment was posted under an article.
type CommentAdded struct {
	CommentID int64 `json:"comment_id"`
	ArticleID int64 `json:"article_id"`
	AuthorID  int64 `json:"author_id"`
}

// CommentDeleted says a comment was removed.
type CommentDeleted CommentAdded

// Events holds one perfcore dispatcher per domain event. Listeners are registered on it
// once, at start-up, by the app (see package listeners).
type Events struct {
	ArticlePublished   *events.Dispatcher[ArticlePublished]
	ArticleUpdated     *events.Dispatcher[ArticleUpdated]
	ArticleDeleted     *events.Dispatcher[ArticleDeleted]
	ArticleFavorited   *events.Dispatcher[ArticleFavorited]
	ArticleUnfavorited *events.Dispatcher[ArticleUnfavorited]
	UserRegistered     *events.Dispatcher[UserRegistered]
	UserUpdated        *events.Dispatcher[UserUpdated]
	UserFollowed       *events.Dispatcher[UserFollowed]
	UserUnfollowed     *events.Dispatcher[UserUnfollowed]
	CommentAdded       *events.Dispatcher[CommentAdded]
	CommentDeleted     *events.Dispatcher[CommentDeleted]

	closers []func(context.Context) error
}

// NewEvents makes the dispatchers with cfg (deadlines, the pool that runs async listeners,
// metrics, logger); each is named after its event: article.published, user.followed, ….
func NewEvents(cfg events.Config) (*Events, error) {
	ev := &Events{}
	var errs []error
	ev.ArticlePublished = newDispatcher[ArticlePublished](ev, cfg, "article.published", &errs)
	ev.ArticleUpdated = newDispatcher[ArticleUpdated](ev, cfg, "article.updated", &errs)
	ev.ArticleDeleted = newDispatcher[ArticleDeleted](ev, cfg, "article.deleted", &errs)
	ev.ArticleFavorited = newDispatcher[ArticleFavorited](ev, cfg, "article.favorited", &errs)
	ev.ArticleUnfavorited = newDispatcher[ArticleUnfavorited](ev, cfg, "article.unfavorited", &errs)
	ev.UserRegistered = newDispatcher[UserRegistered](ev, cfg, "user.registered", &errs)
	ev.UserUpdated = newDispatcher[UserUpdated](ev, cfg, "user.updated", &errs)
	ev.UserFollowed = newDispatcher[UserFollowed](ev, cfg, "user.followed", &errs)
	ev.UserUnfollowed = newDispatcher[UserUnfollowed](ev, cfg, "user.unfollowed", &errs)
	ev.CommentAdded = newDispatcher[CommentAdded](ev, cfg, "comment.added", &errs)
	ev.CommentDeleted = newDispatcher[CommentDeleted](ev, cfg, "comment.deleted", &errs)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ev, nil
}

func newDispatcher[T any](ev *Events, cfg events.Config, name string, errs *[]error) *events.Dispatcher[T] {
	cfg.Name = name
	d, err := events.New[T](cfg)
	if err != nil {
		*errs = append(*errs, err)
		return nil
	}
	ev.closers = append(ev.closers, d.Close)
	return d
}

// Close stops new dispatches and waits, until ctx ends, for async listeners still running.
// Safe to call twice.
func (ev *Events) Close(ctx context.Context) error {
	var errs []error
	for _, c := range ev.closers {
		errs = append(errs, c(ctx))
	}
	return errors.Join(errs...)
}

// InTx runs fn in one transaction on db. The events fn dispatches on its ctx reach their sync
// listeners at once, with tx in the context (jobs.TxFrom), so a listener's jobs commit or roll
// back with the change; their after-commit and async listeners run only once it has
// committed, and never for a change that rolled back. A failing after-commit listener is
// reported by its dispatcher and does not fail the committed change. The commit hooks ctx
// carries (data.WithCommitHook) run last, in tx.
func InTx(ctx context.Context, db *bun.DB, fn func(ctx context.Context, tx bun.Tx) error) error {
	pctx, pending := events.Defer(ctx)
	err := db.RunInTx(pctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := fn(jobs.WithTx(ctx, tx), tx); err != nil {
			return err
		}
		return data.RunCommitHooks(ctx, tx)
	})
	if err != nil {
		pending.Discard()
		return err
	}
	_ = pending.Commit(ctx)
	return nil
}

// NoEvents is an Events without listeners or metrics, for a service built on its own (tests,
// tools): its dispatches do nothing but count.
func NoEvents() *Events {
	ev, err := NewEvents(events.Config{})
	if err != nil { // the zero Config has no timeouts to refuse
		return &Events{}
	}
	return ev
}
