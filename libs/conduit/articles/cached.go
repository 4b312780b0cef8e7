package articles

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
)

// Cache tags: what the reads here record their entries under, and what the after-commit
// listeners flush (package listeners). UserTag is shared with the profile service: a profile
// change flushes the articles that show it.

// TagsTag is the cache tag of the tag list.
const TagsTag = "tags"

// TotalsTag is the cache tag of the listings' totals (how many articles match a filter): any
// write that adds or removes an article from a filter's matches flushes them all.
const TotalsTag = "article-totals"

// ArticleTag names the cache tag of an article.
func ArticleTag(id int64) string { return "article:" + strconv.FormatInt(id, 10) }

// UserTag names the cache tag of a user: conduit.UserTag, kept here beside ArticleTag.
func UserTag(id int64) string { return conduit.UserTag(id) }

func (s *Service) getCached(ctx context.Context, slug string) (*conduit.ArticleView, error) {
	v, err := s.views.RememberTagged(ctx, "article:"+slug, s.ttl, func(ctx context.Context) (conduit.ArticleView, []string, error) {
		a, err := s.find(ctx, s.db, slug)
		if err != nil {
			return conduit.ArticleView{}, nil, err
		}
		v, err := s.view(ctx, a.ID, 0)
		if err != nil {
			return conduit.ArticleView{}, nil, err
		}
		return *v, []string{ArticleTag(v.ID), UserTag(v.Author.ID)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Rendered returns the article with that slug as an anonymous reader sees it, encoded by
// render, and with a cache keeps the encoding itself, under the view's tags (so whatever
// flushes the view flushes it too): a cached read is then a lookup and a write of bytes, with
// no encoding per request. name tells encodings apart (one per wire format); render must
// return valid JSON (the Redis level stores it as is). Without a cache it renders each time.
func (s *Service) Rendered(ctx context.Context, slug, name string, render func(*conduit.ArticleView) ([]byte, error)) ([]byte, error) {
	if s.cache == nil {
		v, err := s.Get(ctx, slug, 0)
		if err != nil {
			return nil, err
		}
		return render(v)
	}
	return s.rendered.RememberTagged(ctx, "article-"+name+":"+slug, s.ttl, func(ctx context.Context) (json.RawMessage, []string, error) {
		v, err := s.getCached(ctx, slug)
		if err != nil {
			return nil, nil, err
		}
		b, err := render(v)
		if err != nil {
			return nil, nil, err
		}
		return b, []string{ArticleTag(v.ID), UserTag(v.Author.ID)}, nil
	})
}

// total is a listing's total through the cache: the count reads every matching row, so at
// 20,000 articles it, not the page, is what a listing costs.
func (s *Service) total(ctx context.Context, f conduit.ArticleFilter, count func(context.Context) (int64, error)) (int64, error) {
	return s.totals.Remember(ctx, totalKey(f), s.ttl, count)
}

// totalKey names the cached total of f; every field is quoted, so no two filters share a key.
func totalKey(f conduit.ArticleFilter) string {
	return fmt.Sprintf("article-total:%q:%q:%q:%d", f.Tag, f.Author, f.FavoritedBy, f.FeedOf)
}

// tagsOf returns the tags article id carries now, in tx.
func (s *Service) tagsOf(ctx context.Context, tx bun.Tx, id int64) ([]string, error) {
	m, err := s.tags.ForArticles(ctx, tx, []int64{id})
	if err != nil {
		return nil, fmt.Errorf("read tags of article %d: %w", id, err)
	}
	return m[id], nil
}
