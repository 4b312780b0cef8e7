// Package listeners is what the Conduit domain's events cause, registered in one place:
//
//   - in the transaction (sync, with the transaction in the context): the River jobs a change
//     needs — notify the author's followers of a new article, recount the tags an article
//     gained or lost — so a job exists exactly when its change commits;
//   - after the commit: cache invalidation, never for a change that rolled back;
//   - on the goroutine pool (async, after the commit): warming the cache with a new or
//     changed article, so its first anonymous reader does not pay for the miss.
//
// An app calls Register once at start-up with the parts it has; a part left nil turns its
// listeners off (no queue: no jobs; no cache: nothing to invalidate or warm).
package listeners

import (
	"context"
	"errors"
	"slices"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/conduit/conduitjobs"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/events"
)

// Deps are the parts the listeners act on.
type Deps struct {
	// Queue receives the jobs of changes, in their transaction. Nil: no jobs.
	Queue *jobs.Queue
	// Cache is invalidated after commits. Nil: nothing is cached.
	Cache *cache.Cache
	// Warm reads an article as an anonymous reader would, filling the cache; it runs on the
	// events' Runner (the goroutine pool). Nil: no warming.
	Warm func(ctx context.Context, slug string) error
}

// Register adds every listener d has the parts for to ev.
func Register(ev *conduit.Events, d Deps) error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if d.Queue != nil {
		q := d.Queue
		// A batch (the bulk import's) inserts its jobs in one statement.
		add(ev.ArticlePublished.ListenBatch("enqueue-jobs", func(ctx context.Context, es []conduit.ArticlePublished) error {
			tx, err := txOf(ctx)
			if err != nil {
				return err
			}
			return conduitjobs.ArticlesPublished(ctx, q, tx, es)
		}))
		add(ev.ArticleUpdated.Listen("enqueue-jobs", func(ctx context.Context, e conduit.ArticleUpdated) error {
			if !e.TagsChanged {
				return nil
			}
			tx, err := txOf(ctx)
			if err != nil {
				return err
			}
			return conduitjobs.TagsChanged(ctx, q, tx, union(e.OldTags, e.Tags))
		}))
		add(ev.ArticleDeleted.Listen("enqueue-jobs", func(ctx context.Context, e conduit.ArticleDeleted) error {
			if len(e.Tags) == 0 {
				return nil
			}
			tx, err := txOf(ctx)
			if err != nil {
				return err
			}
			return conduitjobs.TagsChanged(ctx, q, tx, e.Tags)
		}))
	}
	if d.Cache != nil {
		flush := func(ctx context.Context, tags ...string) error {
			// A failure is logged (a WARN, once per Redis cool-down) and counted by the cache,
			// which replays it when its store is back and has every instance drop its
			// in-process level; the write itself has committed. Returned, it would also be an
			// ERROR "event listener failed" per write while Redis is away (267 in the Redis
			// fault test's 10 s), for nothing left to do.
			_ = d.Cache.Tags(tags...).Flush(ctx)
			return nil
		}
		after := events.AfterCommit()
		// Once per batch: a new article changes the listings' totals, and the tag list when it
		// has tags.
		add(ev.ArticlePublished.ListenBatch("flush-cache", func(ctx context.Context, es []conduit.ArticlePublished) error {
			for _, e := range es {
				if len(e.Tags) > 0 {
					return flush(ctx, articles.TotalsTag, articles.TagsTag)
				}
			}
			return flush(ctx, articles.TotalsTag)
		}, after))
		add(ev.ArticleUpdated.Listen("flush-cache", func(ctx context.Context, e conduit.ArticleUpdated) error {
			if e.TagsChanged {
				// It left the listings by its old tags and joined those by its new ones.
				return flush(ctx, articles.ArticleTag(e.ArticleID), articles.TagsTag, articles.TotalsTag)
			}
			return flush(ctx, articles.ArticleTag(e.ArticleID))
		}, after))
		add(ev.ArticleDeleted.Listen("flush-cache", func(ctx context.Context, e conduit.ArticleDeleted) error {
			return flush(ctx, articles.ArticleTag(e.ArticleID), articles.TagsTag, articles.TotalsTag)
		}, after))
		// A favorite moves the article's count and the favoriter's "favorited by" listing.
		add(ev.ArticleFavorited.Listen("flush-cache", func(ctx context.Context, e conduit.ArticleFavorited) error {
			return flush(ctx, articles.ArticleTag(e.ArticleID), articles.TotalsTag)
		}, after))
		add(ev.ArticleUnfavorited.Listen("flush-cache", func(ctx context.Context, e conduit.ArticleUnfavorited) error {
			return flush(ctx, articles.ArticleTag(e.ArticleID), articles.TotalsTag)
		}, after))
		add(ev.UserUpdated.Listen("flush-cache", func(ctx context.Context, e conduit.UserUpdated) error {
			// The profile and every article that shows the user carry its tag; a new username
			// moves the listings by author and by favoriter to the new name.
			if e.OldUsername != "" && e.OldUsername != e.Username {
				return flush(ctx, articles.UserTag(e.UserID), articles.TotalsTag)
			}
			return flush(ctx, articles.UserTag(e.UserID))
		}, after))
		// The follower's feed gains or loses the followee's articles.
		add(ev.UserFollowed.Listen("flush-cache", func(ctx context.Context, _ conduit.UserFollowed) error {
			return flush(ctx, articles.TotalsTag)
		}, after))
		add(ev.UserUnfollowed.Listen("flush-cache", func(ctx context.Context, _ conduit.UserUnfollowed) error {
			return flush(ctx, articles.TotalsTag)
		}, after))
	}
	if d.Warm != nil && d.Cache != nil {
		add(ev.ArticlePublished.Listen("warm-cache", func(ctx context.Context, e conduit.ArticlePublished) error {
			return d.Warm(ctx, e.Slug)
		}, events.Async()))
		add(ev.ArticleUpdated.Listen("warm-cache", func(ctx context.Context, e conduit.ArticleUpdated) error {
			return d.Warm(ctx, e.Slug)
		}, events.Async()))
	}
	return errors.Join(errs...)
}

// txOf is the transaction the event was raised in: jobs must commit with their change.
func txOf(ctx context.Context) (bun.Tx, error) {
	tx, ok := jobs.TxFrom(ctx)
	if !ok {
		return tx, errors.New("listeners: event raised outside a transaction (use conduit.InTx)")
	}
	return tx, nil
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
