package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/events"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// caches returns the caches this run can test the API with: memory always, Redis with
// TEST_REDIS_URL (under a key prefix of the test's own).
func caches(t *testing.T) map[string]*cache.Cache {
	t.Helper()
	out := map[string]*cache.Cache{}
	mem, err := cache.NewMemory(cache.MemoryOptions{Options: cache.Options{Logger: quietLog}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close() })
	out["memory"] = mem
	if url := os.Getenv("TEST_REDIS_URL"); url != "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "test:httpapi:" + hex.EncodeToString(b[:]) + ":"
		rc, err := cache.NewRedis(context.Background(), cache.RedisOptions{
			Options: cache.Options{Logger: quietLog}, URL: url, Prefix: prefix, NoTracing: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = rc.Close()
			opt, err := redis.ParseURL(url)
			if err != nil {
				return
			}
			cl := redis.NewClient(opt)
			defer cl.Close()
			ctx := context.Background()
			var keys []string
			for it := cl.Scan(ctx, 0, prefix+"*", 1000).Iterator(); it.Next(ctx); {
				keys = append(keys, it.Val())
			}
			if len(keys) > 0 {
				_ = cl.Del(ctx, keys...).Err()
			}
		})
		out["redis"] = rc
	}
	return out
}

// Every write is followed by reads that show it, although the reads before it filled the
// cache: the writes invalidate exactly what they change.
func TestCachedReadsAreNeverStaleAfterWrites(t *testing.T) {
	for name, c := range caches(t) {
		t.Run(name, func(t *testing.T) {
			a := newAPI(t, func(d *deps) { d.svc.Cache, d.svc.CacheTTL = c, time.Hour })
			author, reader := a.register("author"), a.register("reader")
			slug := a.createArticle(author, "Caching", "go")
			article := func(token string) map[string]any {
				t.Helper()
				return obj(a.must(http.StatusOK, "GET", "/api/articles/"+slug, token, nil), "article")
			}
			profile := func(token string) map[string]any {
				t.Helper()
				return obj(a.must(http.StatusOK, "GET", "/api/profiles/author", token, nil), "profile")
			}
			tags := func() []any {
				t.Helper()
				return list(a.must(http.StatusOK, "GET", "/api/tags", "", nil), "tags")
			}
			// Fill the cache.
			for range 2 {
				article("")
				profile("")
				tags()
			}
			before := a.queries.Load()
			article("")
			profile("")
			tags()
			if a.queries.Load() != before {
				t.Fatalf("cached reads went to the database (%d queries)", a.queries.Load()-before)
			}

			// update (body and tags)
			a.must(http.StatusOK, "PUT", "/api/articles/"+slug, author, map[string]any{"article": map[string]any{"body": "new body", "tagList": []string{"db"}}})
			if got := article("")["body"]; got != "new body" {
				t.Fatalf("after update: body %v", got)
			}
			if got := tags(); len(got) != 1 || got[0] != "db" {
				t.Fatalf("after retag: tags %v", got)
			}
			// favorite
			a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/favorite", reader, nil)
			if got := num(article("")["favoritesCount"]); got != 1 {
				t.Fatalf("after favorite: favoritesCount %d", got)
			}
			if !article(reader)["favorited"].(bool) {
				t.Fatal("the reader's own view misses the favorite")
			}
			// the author changes the profile the article embeds
			a.must(http.StatusOK, "PUT", "/api/user", author, map[string]any{"user": map[string]any{"bio": "new bio"}})
			if got := obj(article(""), "author")["bio"]; got != "new bio" {
				t.Fatalf("article after profile change: bio %v", got)
			}
			if got := profile("")["bio"]; got != "new bio" {
				t.Fatalf("profile after change: bio %v", got)
			}
			// follow: the follower sees it; anonymous readers are not following anyone
			a.must(http.StatusOK, "POST", "/api/profiles/author/follow", reader, nil)
			if !profile(reader)["following"].(bool) || !obj(article(reader), "author")["following"].(bool) {
				t.Fatal("after follow: the follower does not see it")
			}
			if profile("")["following"].(bool) {
				t.Fatal("anonymous profile says following")
			}
			// a new title moves the article to a new slug; the old one is gone
			m := a.must(http.StatusOK, "PUT", "/api/articles/"+slug, author, map[string]any{"article": map[string]any{"title": "Renamed"}})
			newSlug := obj(m, "article")["slug"].(string)
			if r := a.do("GET", "/api/articles/"+slug, "", nil); newSlug != slug && r.Code != http.StatusNotFound {
				t.Fatalf("old slug after rename: %d", r.Code)
			}
			slug = newSlug
			article("")
			// delete
			a.must(http.StatusNoContent, "DELETE", "/api/articles/"+slug, author, nil)
			if r := a.do("GET", "/api/articles/"+slug, "", nil); r.Code != http.StatusNotFound {
				t.Fatalf("after delete: %d %s", r.Code, r.Body)
			}
			if got := tags(); len(got) != 0 {
				t.Fatalf("after delete: tags %v", got)
			}
		})
	}
}

var errInjected = errors.New("injected failure after the jobs were inserted")

// A change's jobs are inserted in its transaction by its event's listener: a committed change
// has them, a rolled-back one has none, and a rolled-back change fires no after-commit listener.
func TestJobsCommitAndRollBackWithTheWrite(t *testing.T) {
	var fail atomic.Bool
	var afterCommit atomic.Int32
	a := newAPI(t, func(d *deps) {
		q, err := jobs.New(context.Background(), jobs.Config{DB: d.svc.DB, Logger: quietLog})
		if err != nil {
			t.Fatal(err)
		}
		d.queue = q
		d.http.Logger = quietLog
		d.listen = append(d.listen, func(ev *conduit.Events) {
			// Registered after the app's listeners: the jobs are in the transaction when it fails.
			if err := ev.ArticlePublished.Listen("injected-failure", func(context.Context, conduit.ArticlePublished) error {
				if fail.Load() {
					return errInjected
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := ev.ArticlePublished.Listen("count-commits", func(context.Context, conduit.ArticlePublished) error {
				afterCommit.Add(1)
				return nil
			}, events.AfterCommit()); err != nil {
				t.Fatal(err)
			}
		})
	})
	count := func(q string) int {
		t.Helper()
		var n int
		if err := a.db.NewRaw(q).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	token := a.register("author")
	a.createArticle(token, "Committed", "go")
	if n := count("SELECT count(*) FROM river_job WHERE kind IN ('notify_followers', 'tag_counts')"); n != 2 {
		t.Fatalf("committed article: %d jobs, want 2", n)
	}
	if afterCommit.Load() != 1 {
		t.Fatalf("after-commit listener ran %d times for one commit", afterCommit.Load())
	}
	fail.Store(true)
	r := a.do("POST", "/api/articles", token, articleBody("Rolled back", "db"))
	if r.Code != http.StatusInternalServerError {
		t.Fatalf("failing transaction: %d %s", r.Code, r.Body)
	}
	if n := count("SELECT count(*) FROM river_job"); n != 2 {
		t.Fatalf("rolled-back article left jobs: %d in all, want the first 2", n)
	}
	if n := count("SELECT count(*) FROM articles"); n != 1 {
		t.Fatalf("%d articles, want 1", n)
	}
	if afterCommit.Load() != 1 {
		t.Fatalf("a rolled-back change fired its after-commit listener (%d runs)", afterCommit.Load())
	}
}
