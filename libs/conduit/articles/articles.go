// Package articles is the article side of Conduit: listing and the feed, reading, writing,
// deleting (author only), favorites, and the tag cloud. It owns the rules (validation, unique
// slugs, authorship) and wraps each change in one transaction.
package articles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/validate"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// Limits on article fields and pages.
const (
	MaxTitle       = 200
	MaxDescription = 1000
	MaxBody        = 100_000
	MaxTags        = 20
	MaxTag         = 40
	DefaultLimit   = 20
	MaxLimit       = 100
	// slugAttempts bounds the retries when a concurrent writer takes the slug we picked.
	slugAttempts = 3
)

// Service owns the article rules.
type Service struct {
	db        *bun.DB
	articles  conduit.Articles
	tags      conduit.Tags
	favorites conduit.Favorites
	now       func() time.Time

	events   *conduit.Events
	cache    *cache.Cache // nil: no caching
	ttl      time.Duration
	views    cache.Typed[conduit.ArticleView]
	rendered cache.Typed[json.RawMessage]
	tagList  cache.Typed[[]string]
	totals   cache.Typed[int64]
}

// Deps is what the article service is built from. DB is required; the rest is optional.
type Deps struct {
	DB  *bun.DB
	Now func() time.Time // the clock; time.Now when nil
	// Events receives the article events, raised in each change's transaction; its listeners
	// do the side effects (jobs, cache invalidation). Nil: a set with no listeners.
	Events *conduit.Events
	// Cache, when set, serves what every anonymous reader sees alike — an article by slug and
	// the tag list — and every listing's total (how many articles match its filter, the same
	// for every reader) for CacheTTL (default one minute). The after-commit listeners of the
	// events flush exactly what a write changes. Signed-in readers read the rest from the
	// database.
	Cache    *cache.Cache
	CacheTTL time.Duration
	// Pool, when set, runs each listing's count query while its page query runs on the
	// caller's goroutine (not inside a transaction, whose one connection cannot run both),
	// whenever ParallelNow (nil: always) says so.
	Pool        *pool.Pool
	ParallelNow func() bool
}

// NewService returns the article service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Events == nil {
		d.Events = conduit.NoEvents()
	}
	s := &Service{db: d.DB, now: d.Now, events: d.Events}
	s.articles.Parallel, s.articles.ParallelNow = d.Pool, d.ParallelNow
	if d.Cache != nil {
		if d.CacheTTL <= 0 {
			d.CacheTTL = time.Minute
		}
		s.views = cache.Of[conduit.ArticleView](d.Cache)
		s.rendered = cache.Of[json.RawMessage](d.Cache)
		s.tagList = cache.Of[[]string](d.Cache)
		s.totals = cache.Of[int64](d.Cache).Tags(TotalsTag)
		s.cache, s.ttl = d.Cache, d.CacheTTL
		s.articles.Totals = s.total
	}
	return s
}

// ListInput selects a page of articles. Limit and Offset are nil when not given.
type ListInput struct {
	Filter   conduit.ArticleFilter
	Limit    *int
	Offset   *int
	ViewerID int64
}

// Page is one page of articles and how many match in all.
type Page struct {
	Articles []conduit.ArticleView
	Count    int
}

func pageOf(in ListInput) (repository.Page, error) {
	page := repository.Page{Limit: DefaultLimit}
	p := apperr.Problems{}
	if in.Limit != nil {
		switch {
		case *in.Limit < 1:
			p.Add("limit", "must be at least 1")
		default:
			page.Limit = min(*in.Limit, MaxLimit)
		}
	}
	if in.Offset != nil {
		if *in.Offset < 0 {
			p.Add("offset", "must not be negative")
		} else {
			page.Offset = *in.Offset
		}
	}
	return page, p.Err()
}

// List returns the newest articles matching in.Filter. The limit defaults to DefaultLimit and
// is capped at MaxLimit.
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	page, err := pageOf(in)
	if err != nil {
		return Page{}, err
	}
	views, total, err := s.articles.List(ctx, s.db, in.Filter, in.ViewerID, page)
	if err != nil {
		return Page{}, fmt.Errorf("list articles: %w", err)
	}
	return Page{Articles: views, Count: total}, nil
}

// Feed returns the newest articles by authors the viewer follows.
func (s *Service) Feed(ctx context.Context, in ListInput) (Page, error) {
	in.Filter = conduit.ArticleFilter{FeedOf: in.ViewerID}
	return s.List(ctx, in)
}

// Get returns the article with that slug as viewerID (0: anonymous) sees it.
func (s *Service) Get(ctx context.Context, slug string, viewerID int64) (*conduit.ArticleView, error) {
	if viewerID == 0 && s.cache != nil {
		return s.getCached(ctx, slug)
	}
	a, err := s.find(ctx, s.db, slug)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, a.ID, viewerID)
}

func (s *Service) find(ctx context.Context, db bun.IDB, slug string) (*conduit.Article, error) {
	a, err := s.articles.FindBySlug(ctx, db, slug)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, apperr.NotFoundf("article")
	}
	if err != nil {
		return nil, fmt.Errorf("find article: %w", err)
	}
	return a, nil
}

func (s *Service) view(ctx context.Context, id, viewerID int64) (*conduit.ArticleView, error) {
	v, err := s.articles.View(ctx, s.db, id, viewerID)
	if errors.Is(err, repository.ErrNotFound) {
		// Deleted between the write and this read.
		return nil, apperr.NotFoundf("article")
	}
	if err != nil {
		return nil, fmt.Errorf("read article: %w", err)
	}
	return v, nil
}

// CreateInput is a new article.
type CreateInput struct {
	Title       string
	Description string
	Body        string
	TagList     []string
}

// cleanTags trims, de-duplicates and sorts tags, recording problems under "tagList".
func cleanTags(p apperr.Problems, tags []string) []string {
	if len(tags) > MaxTags {
		p.Add("tagList", "has too many tags (maximum is %d)", MaxTags)
		return nil
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" {
			p.Add("tagList", "can't contain a blank tag")
			return nil
		}
		before := len(p["tagList"])
		validate.MaxLen(p, "tagList", t, MaxTag)
		if len(p["tagList"]) > before {
			return nil
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Draft is a new article after the rules: what gets stored, whichever way it came in.
type Draft struct {
	Title       string // trimmed
	Description string
	Body        string
	Tags        []string // trimmed, unique, sorted
}

// Prepare applies the rules every new article meets, wherever it comes from (POST
// /api/articles, the worker's bulk import): required fields and their limits, and the tag
// rule. A rule broken is an apperr.Invalid naming each field.
func Prepare(in CreateInput) (Draft, error) {
	d := Draft{Title: strings.TrimSpace(in.Title), Description: in.Description, Body: in.Body}
	p := apperr.Problems{}
	validate.Required(p, "title", d.Title, MaxTitle)
	validate.Required(p, "description", d.Description, MaxDescription)
	validate.Required(p, "body", d.Body, MaxBody)
	d.Tags = cleanTags(p, in.TagList)
	if err := p.Err(); err != nil {
		return Draft{}, err
	}
	return d, nil
}

// Create publishes an article by authorID under a slug no other article has.
func (s *Service) Create(ctx context.Context, authorID int64, in CreateInput) (*conduit.ArticleView, error) {
	d, err := Prepare(in)
	if err != nil {
		return nil, err
	}
	tags := d.Tags
	in.Title = d.Title
	now := s.now().UTC()
	a := &conduit.Article{
		Title: d.Title, Description: d.Description, Body: d.Body,
		AuthorID: authorID, CreatedAt: now, UpdatedAt: now,
	}
	err = s.withFreshSlug(ctx, func(ctx context.Context, tx bun.Tx) error {
		slug, err := s.uniqueSlug(ctx, tx, in.Title, "")
		if err != nil {
			return err
		}
		a.ID, a.Slug = 0, slug
		if err := s.articles.Create(ctx, tx, a); err != nil {
			return err
		}
		if err := s.tags.Attach(ctx, tx, a.ID, tags); err != nil {
			return err
		}
		return s.events.ArticlePublished.Dispatch(ctx, conduit.ArticlePublished{ArticleID: a.ID, AuthorID: authorID, Slug: a.Slug, Tags: tags})
	})
	if err != nil {
		return nil, fmt.Errorf("create article: %w", err)
	}
	return s.view(ctx, a.ID, authorID)
}

// withFreshSlug runs fn in a transaction (conduit.InTx: its events' after-commit listeners run
// once it commits), again (a bounded number of times) when it loses a
// race for a slug to a concurrent writer.
func (s *Service) withFreshSlug(ctx context.Context, fn func(context.Context, bun.Tx) error) error {
	var err error
	for range slugAttempts {
		err = conduit.InTx(ctx, s.db, fn)
		if !repository.IsUniqueViolation(err) {
			return err
		}
	}
	return err
}

// uniqueSlug returns the slug for title: its Slugify form when free (or already current's),
// else that form with a short random suffix.
func (s *Service) uniqueSlug(ctx context.Context, db bun.IDB, title, current string) (string, error) {
	base := Slugify(title)
	candidate := base
	for range 8 {
		if candidate == current {
			return candidate, nil
		}
		taken, err := s.articles.SlugExists(ctx, db, candidate)
		if err != nil {
			return "", err
		}
		if !taken {
			return candidate, nil
		}
		candidate = base + "-" + strconv.FormatUint(rand.Uint64()%(36*36*36*36*36*36), 36)
	}
	return "", fmt.Errorf("no free slug for %q", base)
}

// UpdateInput changes the fields that are not nil; a non-nil TagList replaces the tags.
type UpdateInput struct {
	Title       *string
	Description *string
	Body        *string
	TagList     *[]string
}

func (s *Service) ownArticle(ctx context.Context, db bun.IDB, userID int64, slug string) (*conduit.Article, error) {
	a, err := s.find(ctx, db, slug)
	if err != nil {
		return nil, err
	}
	if a.AuthorID != userID {
		return nil, apperr.New(apperr.Forbidden, "article", "can only be changed by its author")
	}
	return a, nil
}

// Update changes an article of userID's; a new title gives it a new slug.
func (s *Service) Update(ctx context.Context, userID int64, slug string, in UpdateInput) (*conduit.ArticleView, error) {
	p := apperr.Problems{}
	if in.Title != nil {
		t := strings.TrimSpace(*in.Title)
		in.Title = &t
		validate.Required(p, "title", t, MaxTitle)
	}
	if in.Description != nil {
		validate.Required(p, "description", *in.Description, MaxDescription)
	}
	if in.Body != nil {
		validate.Required(p, "body", *in.Body, MaxBody)
	}
	var tags []string
	if in.TagList != nil {
		tags = cleanTags(p, *in.TagList)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var id int64
	err := s.withFreshSlug(ctx, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.ownArticle(ctx, tx, userID, slug)
		if err != nil {
			return err
		}
		id = a.ID
		ev := conduit.ArticleUpdated{ArticleID: a.ID, AuthorID: a.AuthorID, OldSlug: a.Slug}
		if in.Title != nil && *in.Title != a.Title {
			if a.Slug, err = s.uniqueSlug(ctx, tx, *in.Title, a.Slug); err != nil {
				return err
			}
			a.Title = *in.Title
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.Body != nil {
			a.Body = *in.Body
		}
		a.UpdatedAt = s.now().UTC()
		if err := s.articles.Update(ctx, tx, a, "slug", "title", "description", "body", "updated_at"); err != nil {
			return err
		}
		ev.Slug = a.Slug
		if in.TagList != nil {
			old, err := s.tagsOf(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			if err := s.tags.Detach(ctx, tx, a.ID); err != nil {
				return err
			}
			if err := s.tags.Attach(ctx, tx, a.ID, tags); err != nil {
				return err
			}
			ev.TagsChanged, ev.OldTags, ev.Tags = true, old, tags
		}
		return s.events.ArticleUpdated.Dispatch(ctx, ev)
	})
	if err != nil {
		return nil, fmt.Errorf("update article: %w", err)
	}
	return s.view(ctx, id, userID)
}

// Delete removes an article of userID's with its comments, favorites and tag links.
func (s *Service) Delete(ctx context.Context, userID int64, slug string) error {
	err := conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.ownArticle(ctx, tx, userID, slug)
		if err != nil {
			return err
		}
		old, err := s.tagsOf(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if err := s.articles.Delete(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.events.ArticleDeleted.Dispatch(ctx, conduit.ArticleDeleted{ArticleID: a.ID, AuthorID: a.AuthorID, Slug: a.Slug, Tags: old})
	})
	if err != nil {
		return fmt.Errorf("delete article: %w", err)
	}
	return nil
}

// Favorite marks the article as a favorite of userID; doing it twice counts once.
func (s *Service) Favorite(ctx context.Context, userID int64, slug string) (*conduit.ArticleView, error) {
	return s.setFavorite(ctx, userID, slug, true)
}

// Unfavorite removes userID's favorite of the article; doing it twice is not an error.
func (s *Service) Unfavorite(ctx context.Context, userID int64, slug string) (*conduit.ArticleView, error) {
	return s.setFavorite(ctx, userID, slug, false)
}

func (s *Service) setFavorite(ctx context.Context, userID int64, slug string, on bool) (*conduit.ArticleView, error) {
	var id int64
	err := conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.find(ctx, tx, slug)
		if err != nil {
			return err
		}
		id = a.ID
		var changed bool
		if on {
			changed, err = s.favorites.Add(ctx, tx, &conduit.Favorite{UserID: userID, ArticleID: a.ID, CreatedAt: s.now().UTC()})
		} else {
			changed, err = s.favorites.Remove(ctx, tx, userID, a.ID)
		}
		if err != nil || !changed {
			return err
		}
		delta := 1
		if !on {
			delta = -1
		}
		if err := s.articles.AddFavorites(ctx, tx, a.ID, delta); err != nil {
			return err
		}
		ev := conduit.ArticleFavorited{ArticleID: a.ID, UserID: userID, Slug: a.Slug}
		if on {
			return s.events.ArticleFavorited.Dispatch(ctx, ev)
		}
		return s.events.ArticleUnfavorited.Dispatch(ctx, conduit.ArticleUnfavorited(ev))
	})
	if err != nil {
		return nil, fmt.Errorf("favorite article: %w", err)
	}
	return s.view(ctx, id, userID)
}

// Tags returns every tag at least one article carries, sorted.
func (s *Service) Tags(ctx context.Context) ([]string, error) {
	if s.cache != nil {
		return s.tagList.Tags(TagsTag).Remember(ctx, TagsTag, s.ttl, s.tagsInUse)
	}
	return s.tagsInUse(ctx)
}

func (s *Service) tagsInUse(ctx context.Context) ([]string, error) {
	tags, err := s.tags.InUse(ctx, s.db)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return tags, nil
}
