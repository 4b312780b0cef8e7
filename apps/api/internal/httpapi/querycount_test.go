package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/metric/noop"
	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/seed"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// maxListQueries is the bound on statements per listing page.
const maxListQueries = 5

// A page of articles with authors, tags, favorite counts, favorited and following costs the
// same few queries whatever its size: no query per article. The same holds with the count run
// on a goroutine pool (Deps.Pool).
func TestListingQueryCountDoesNotGrowWithPageSize(t *testing.T) {
	t.Parallel()
	t.Run("sequential", func(t *testing.T) {
		t.Parallel()
		testListingQueryCount(t, newAPI(t))
	})
	t.Run("count on the pool", func(t *testing.T) {
		t.Parallel()
		p, err := pool.New(pool.Config{Name: "querycount", MeterProvider: noop.NewMeterProvider()})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := p.Stop(context.Background()); err != nil {
				t.Error(err)
			}
			if s := p.Stats(); s.Completed == 0 {
				t.Error("the pool ran no count")
			}
		}()
		testListingQueryCount(t, newAPI(t, func(d *deps) { d.svc.Pool = p }))
	})
}

func testListingQueryCount(t *testing.T, a *api) {
	err := seed.RunWith(t.Context(), a.db, 12, 150, io.Discard, seed.Options{
		PasswordCost: bcrypt.MinCost, Rand: rand.New(rand.NewPCG(1, 2)),
	})
	if err != nil {
		t.Fatal(err)
	}
	viewer := a.register("viewer")
	var authors []conduit.User
	if err := a.db.NewSelect().Model(&authors).Where("username <> 'viewer'").Limit(6).Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, u := range authors {
		a.must(http.StatusOK, "POST", "/api/profiles/"+u.Username+"/follow", viewer, nil)
	}
	var slugs []string
	if err := a.db.NewSelect().Model((*conduit.Article)(nil)).Column("slug").Limit(30).Scan(t.Context(), &slugs); err != nil {
		t.Fatal(err)
	}
	for _, s := range slugs {
		a.must(http.StatusOK, "POST", "/api/articles/"+s+"/favorite", viewer, nil)
	}

	for _, c := range []struct{ name, path, token string }{
		{"global, signed in", "/api/articles", viewer},
		{"global, anonymous", "/api/articles", ""},
		{"feed", "/api/articles/feed", viewer},
		{"favorited filter", "/api/articles?favorited=viewer", viewer},
		{"author filter", "/api/articles?author=" + authors[0].Username, viewer},
		{"tag filter", "/api/articles?tag=go", viewer},
	} {
		t.Run(c.name, func(t *testing.T) {
			counts := map[int]int64{}
			for _, size := range []int{1, 20, 100} {
				a.queries.Reset()
				m := a.must(http.StatusOK, "GET", fmt.Sprintf("%s%slimit=%d", c.path, sep(c.path), size), c.token, nil)
				counts[size] = a.queries.Load()
				if n := len(list(m, "articles")); n == 0 || n > size {
					t.Fatalf("page of %d has %d articles", size, n)
				}
				if counts[size] == 0 {
					t.Fatal("counted no queries: the counter does not see the database")
				}
				if counts[size] > maxListQueries {
					t.Fatalf("page of %d took %d queries, want at most %d", size, counts[size], maxListQueries)
				}
			}
			if counts[1] != counts[20] || counts[20] != counts[100] {
				t.Fatalf("query count grows with page size: %v", counts)
			}
			t.Logf("%s: %d queries per page", c.name, counts[100])
		})
	}
	// The feed with 100 per page really carried 100 articles of followed authors.
	m := a.must(http.StatusOK, "GET", "/api/articles/feed?limit=100", viewer, nil)
	for _, art := range list(m, "articles") {
		if obj(art.(map[string]any), "author")["following"] != true {
			t.Fatalf("feed article by an unfollowed author: %v", art)
		}
	}
	fav := a.must(http.StatusOK, "GET", "/api/articles?favorited=viewer&limit=100", viewer, nil)
	if num(fav["articlesCount"]) != len(slugs) {
		t.Fatalf("favorited count %v, want %d", fav["articlesCount"], len(slugs))
	}
	for _, art := range list(fav, "articles") {
		if am := art.(map[string]any); am["favorited"] != true || num(am["favoritesCount"]) < 1 {
			t.Fatalf("favorited article shown as %v", am)
		}
	}
}

func sep(path string) string {
	for _, r := range path {
		if r == '?' {
			return "&"
		}
	}
	return "?"
}
