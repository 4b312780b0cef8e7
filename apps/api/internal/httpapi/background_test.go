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
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
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

// noCachedChange lists the write routes that change nothing a read shows, so
// TestCachedReadsAreNeverStaleAfterWrites has no case for them; each with the reason.
var noCachedChange = map[string]string{
	"POST /api/users/login": "issues a token and changes no row a read returns (failed attempts count in the login throttle, which no read shows)",
}

// sortedStrings is a tag list as a sorted []string, for comparing with a want.
func sortedStrings(v []any) []string {
	out := make([]string, 0, len(v))
	for _, x := range v {
		out = append(out, x.(string))
	}
	slices.Sort(out)
	return out
}

// Every write is followed by reads that show it, although the reads before it filled the
// cache: the writes invalidate exactly what they change. The write routes are the router's
// own (POST, PUT, PATCH, DELETE), so a new one fails this test until it has a case here or a
// reason in noCachedChange.
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
			// me is GET /api/user: the account every signed-in request resolves, cached.
			me := func(token string) map[string]any {
				t.Helper()
				return obj(a.must(http.StatusOK, "GET", "/api/user", token, nil), "user")
			}
			tags := func() []string {
				t.Helper()
				return sortedStrings(list(a.must(http.StatusOK, "GET", "/api/tags", "", nil), "tags"))
			}
			comments := func() []any {
				t.Helper()
				return list(a.must(http.StatusOK, "GET", "/api/articles/"+slug+"/comments", "", nil), "comments")
			}
			// total is a listing's articlesCount (the cache keeps totals per filter); path is
			// /api/articles with its query, or the reader's feed.
			total := func(path string) int {
				t.Helper()
				token := ""
				if strings.HasPrefix(path, "/api/articles/feed") || strings.Contains(path, "favorited=") {
					token = reader
				}
				return num(a.must(http.StatusOK, "GET", path, token, nil)["articlesCount"])
			}
			// Past the last page a listing needs only its total: from the cache, no query.
			totals := []string{"/api/articles?offset=1000", "/api/articles", "/api/articles?tag=go", "/api/articles?tag=db", "/api/articles?tag=fresh",
				"/api/articles?author=author", "/api/articles?author=renamed", "/api/articles?favorited=reader", "/api/articles/feed"}
			wantTotal := func(when, path string, want int) {
				t.Helper()
				if got := total(path); got != want {
					t.Fatalf("%s: %s articlesCount %d, want %d", when, path, got, want)
				}
			}
			// fill reads everything a write below may change, as anonymous and as the reader,
			// twice, so the cache holds it before the write.
			fill := func() {
				t.Helper()
				for range 2 {
					article("")
					article(reader)
					profile("")
					profile(reader)
					me(author)
					me(reader)
					tags()
					comments()
					for _, path := range totals {
						total(path)
					}
				}
			}
			fill()
			before := a.queries.Load()
			article("")
			profile("")
			me(reader)
			tags()
			total("/api/articles?offset=1000")
			if a.queries.Load() != before {
				t.Fatalf("cached reads went to the database (%d queries)", a.queries.Load()-before)
			}

			var commentID int
			cases := []struct {
				route string // as the router registers it
				write func()
			}{
				{"POST /api/users", func() {
					for range 2 {
						if r := a.do("GET", "/api/profiles/newcomer", "", nil); r.Code != http.StatusNotFound {
							t.Fatalf("profile before register: %d", r.Code)
						}
					}
					a.register("newcomer")
					got := obj(a.must(http.StatusOK, "GET", "/api/profiles/newcomer", "", nil), "profile")
					if got["username"] != "newcomer" {
						t.Fatalf("after register: profile %v", got)
					}
				}},
				{"POST /api/articles", func() {
					// A new tag must appear in the cached tag list.
					fresh := a.createArticle(reader, "Fresh", "fresh")
					if got := tags(); !slices.Equal(got, []string{"fresh", "go"}) {
						t.Fatalf("after create: tags %v, want [fresh go]", got)
					}
					wantTotal("after create", "/api/articles", 2)
					wantTotal("after create", "/api/articles?tag=fresh", 1)
					// one without tags changes the totals all the same
					fill()
					a.createArticle(reader, "Untagged")
					wantTotal("after create without tags", "/api/articles", 3)
					a.must(http.StatusOK, "GET", "/api/articles/"+fresh, "", nil)
				}},
				{"PUT /api/articles/:slug", func() {
					a.must(http.StatusOK, "PUT", "/api/articles/"+slug, author, map[string]any{"article": map[string]any{"body": "new body", "tagList": []string{"db"}}})
					if got := article("")["body"]; got != "new body" {
						t.Fatalf("after update: body %v", got)
					}
					if got := tags(); !slices.Equal(got, []string{"db", "fresh"}) {
						t.Fatalf("after retag: tags %v, want [db fresh]", got)
					}
					wantTotal("after retag", "/api/articles?tag=go", 0)
					wantTotal("after retag", "/api/articles?tag=db", 1)
					// a new title moves the article to a new slug; the old one is gone
					fill()
					m := a.must(http.StatusOK, "PUT", "/api/articles/"+slug, author, map[string]any{"article": map[string]any{"title": "Renamed"}})
					newSlug := obj(m, "article")["slug"].(string)
					if r := a.do("GET", "/api/articles/"+slug, "", nil); newSlug != slug && r.Code != http.StatusNotFound {
						t.Fatalf("old slug after rename: %d", r.Code)
					}
					slug = newSlug
					if got := article("")["title"]; got != "Renamed" {
						t.Fatalf("after rename: title %v", got)
					}
				}},
				{"POST /api/articles/:slug/favorite", func() {
					a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/favorite", reader, nil)
					if got := num(article("")["favoritesCount"]); got != 1 {
						t.Fatalf("after favorite: favoritesCount %d", got)
					}
					wantTotal("after favorite", "/api/articles?favorited=reader", 1)
					if !article(reader)["favorited"].(bool) {
						t.Fatal("the reader's own view misses the favorite")
					}
				}},
				{"DELETE /api/articles/:slug/favorite", func() {
					a.must(http.StatusOK, "DELETE", "/api/articles/"+slug+"/favorite", reader, nil)
					if got := num(article("")["favoritesCount"]); got != 0 {
						t.Fatalf("after unfavorite: favoritesCount %d", got)
					}
					wantTotal("after unfavorite", "/api/articles?favorited=reader", 0)
					if article(reader)["favorited"].(bool) {
						t.Fatal("the reader's own view still shows the favorite")
					}
				}},
				{"PUT /api/user", func() {
					// the author changes the profile the article embeds
					a.must(http.StatusOK, "PUT", "/api/user", author, map[string]any{"user": map[string]any{"bio": "new bio"}})
					if got := obj(article(""), "author")["bio"]; got != "new bio" {
						t.Fatalf("article after profile change: bio %v", got)
					}
					if got := profile("")["bio"]; got != "new bio" {
						t.Fatalf("profile after change: bio %v", got)
					}
					if got := me(author)["bio"]; got != "new bio" {
						t.Fatalf("GET /api/user after change: bio %v", got)
					}
					// a new username moves the listing by author; and back, for the cases below
					fill()
					a.must(http.StatusOK, "PUT", "/api/user", author, map[string]any{"user": map[string]any{"username": "renamed"}})
					wantTotal("after rename", "/api/articles?author=author", 0)
					wantTotal("after rename", "/api/articles?author=renamed", 1)
					if got := me(author)["username"]; got != "renamed" {
						t.Fatalf("GET /api/user after rename: username %v", got)
					}
					a.must(http.StatusOK, "PUT", "/api/user", author, map[string]any{"user": map[string]any{"username": "author"}})
					wantTotal("after renaming back", "/api/articles?author=author", 1)
					wantTotal("after renaming back", "/api/articles?author=renamed", 0)
				}},
				{"POST /api/profiles/:username/follow", func() {
					// the follower sees it; anonymous readers are not following anyone
					a.must(http.StatusOK, "POST", "/api/profiles/author/follow", reader, nil)
					if !profile(reader)["following"].(bool) || !obj(article(reader), "author")["following"].(bool) {
						t.Fatal("after follow: the follower does not see it")
					}
					if profile("")["following"].(bool) {
						t.Fatal("anonymous profile says following")
					}
					wantTotal("after follow", "/api/articles/feed", 1)
				}},
				{"DELETE /api/profiles/:username/follow", func() {
					a.must(http.StatusOK, "DELETE", "/api/profiles/author/follow", reader, nil)
					if profile(reader)["following"].(bool) || obj(article(reader), "author")["following"].(bool) {
						t.Fatal("after unfollow: the former follower still sees it")
					}
					wantTotal("after unfollow", "/api/articles/feed", 0)
				}},
				{"POST /api/articles/:slug/comments", func() {
					m := a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/comments", reader, map[string]any{"comment": map[string]any{"body": "first"}})
					commentID = num(obj(m, "comment")["id"])
					got := comments()
					if len(got) != 1 || got[0].(map[string]any)["body"] != "first" {
						t.Fatalf("after comment: comments %v", got)
					}
				}},
				{"DELETE /api/articles/:slug/comments/:id", func() {
					a.must(http.StatusNoContent, "DELETE", "/api/articles/"+slug+"/comments/"+strconv.Itoa(commentID), reader, nil)
					if got := comments(); len(got) != 0 {
						t.Fatalf("after comment delete: comments %v", got)
					}
				}},
				{"DELETE /api/articles/:slug", func() {
					a.must(http.StatusNoContent, "DELETE", "/api/articles/"+slug, author, nil)
					if r := a.do("GET", "/api/articles/"+slug, "", nil); r.Code != http.StatusNotFound {
						t.Fatalf("after delete: %d %s", r.Code, r.Body)
					}
					if got := tags(); !slices.Equal(got, []string{"fresh"}) {
						t.Fatalf("after delete: tags %v, want [fresh]", got)
					}
					wantTotal("after delete", "/api/articles", 2)
					wantTotal("after delete", "/api/articles?tag=db", 0)
				}},
			}

			// Every write route of the router has a case or a reason, and every case a route.
			writes := map[string]bool{}
			for _, r := range a.h.(*gin.Engine).Routes() {
				switch r.Method {
				case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
					writes[r.Method+" "+r.Path] = true
				}
			}
			if len(writes) == 0 {
				t.Fatal("the router lists no write routes")
			}
			covered := map[string]bool{}
			for _, tc := range cases {
				if !writes[tc.route] {
					t.Errorf("case %q names no write route of the router", tc.route)
				}
				covered[tc.route] = true
			}
			for route, why := range noCachedChange {
				if !writes[route] {
					t.Errorf("noCachedChange names %q, no write route of the router", route)
				}
				if covered[route] || why == "" {
					t.Errorf("%q is both exempt and tested, or exempt without a reason", route)
				}
				covered[route] = true
			}
			for route := range writes {
				if !covered[route] {
					t.Errorf("write route %s has no case here: add one that reads what it changes after the cache holds it, or give noCachedChange a reason", route)
				}
			}
			if t.Failed() {
				t.FailNow()
			}

			for _, tc := range cases {
				fill()
				tc.write()
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
