package conduit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// seedTags are the tag names seeded articles draw from.
var seedTags = []string{"go", "sql", "perf", "web", "ops", "db", "cache", "jobs"}

// seedArticles fills db with users, articles (newest has the highest id), their tags and
// favorites, chosen by a fixed seed so every run sees the same rows.
func seedArticles(tb testing.TB, db bun.IDB, users, articles int) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	us := make([]conduit.User, users)
	for i := range us {
		us[i] = conduit.User{
			Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i),
			PasswordHash: "x", CreatedAt: base, UpdatedAt: base,
		}
	}
	if _, err := db.NewInsert().Model(&us).Exec(ctx); err != nil {
		tb.Fatal(err)
	}
	tags := make([]conduit.Tag, len(seedTags))
	for i, n := range seedTags {
		tags[i].Name = n
	}
	if _, err := db.NewInsert().Model(&tags).Exec(ctx); err != nil {
		tb.Fatal(err)
	}
	const batch = 500
	for start := 0; start < articles; start += batch {
		as := make([]conduit.Article, min(batch, articles-start))
		var favs []conduit.Favorite
		for i := range as {
			n := start + i
			at := base.Add(time.Duration(n/2) * time.Minute) // pairs share a time: the id breaks the tie
			as[i] = conduit.Article{
				Slug: fmt.Sprintf("article-%d", n), Title: fmt.Sprintf("Article %d", n),
				Description: "about " + seedTags[n%len(seedTags)], Body: "body",
				AuthorID: us[rng.IntN(users)].ID, CreatedAt: at, UpdatedAt: at,
			}
		}
		if _, err := db.NewInsert().Model(&as).Exec(ctx); err != nil {
			tb.Fatal(err)
		}
		var links []conduit.ArticleTag
		for i := range as {
			for _, t := range rng.Perm(len(tags))[:rng.IntN(4)] {
				links = append(links, conduit.ArticleTag{ArticleID: as[i].ID, TagID: tags[t].ID})
			}
			for _, u := range rng.Perm(users)[:rng.IntN(min(users, 4))] {
				favs = append(favs, conduit.Favorite{UserID: us[u].ID, ArticleID: as[i].ID, CreatedAt: base})
				as[i].FavoritesCount++
			}
		}
		if len(links) > 0 {
			if _, err := db.NewInsert().Model(&links).Exec(ctx); err != nil {
				tb.Fatal(err)
			}
		}
		if len(favs) > 0 {
			if _, err := db.NewInsert().Model(&favs).Exec(ctx); err != nil {
				tb.Fatal(err)
			}
			if _, err := db.NewUpdate().Model(&as).Column("favorites_count").Bulk().Exec(ctx); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func newPool(tb testing.TB, start bool) *pool.Pool {
	tb.Helper()
	p, err := pool.New(pool.Config{Name: "test", MinWorkers: 1, MaxWorkers: 2, MeterProvider: noop.NewMeterProvider()})
	if err != nil {
		tb.Fatal(err)
	}
	if start {
		if err := p.Start(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		if err := p.Stop(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return p
}

// listCase is one listing to compare.
type listCase struct {
	name   string
	filter conduit.ArticleFilter
	viewer int64
	page   repository.Page
}

func listCases() []listCase {
	return []listCase{
		{"first page, anonymous", conduit.ArticleFilter{}, 0, repository.Page{Limit: 20}},
		{"second page, signed in", conduit.ArticleFilter{}, 1, repository.Page{Limit: 20, Offset: 20}},
		{"tag", conduit.ArticleFilter{Tag: "go"}, 2, repository.Page{Limit: 10}},
		{"author", conduit.ArticleFilter{Author: "user3"}, 1, repository.Page{Limit: 5}},
		{"favorited by", conduit.ArticleFilter{FavoritedBy: "user1"}, 1, repository.Page{Limit: 100}},
		{"no match", conduit.ArticleFilter{Tag: "nope"}, 0, repository.Page{Limit: 20}},
		{"past the end", conduit.ArticleFilter{}, 0, repository.Page{Limit: 20, Offset: 1000}},
		{"no limit", conduit.ArticleFilter{}, 0, repository.Page{}},
	}
}

// The listing answers the same whether its count runs on the pool or not, and costs the same
// three statements.
func TestListSameWithAndWithoutPool(t *testing.T) {
	t.Parallel()
	db, queries := datatest.NewCounted(t)
	seedArticles(t, db, 8, 120)
	p := newPool(t, true)
	plain, parallel := conduit.Articles{}, conduit.Articles{Parallel: p}
	ran := 0
	for _, c := range listCases() {
		t.Run(c.name, func(t *testing.T) {
			queries.Reset()
			want, wantTotal, err := plain.List(t.Context(), db, c.filter, c.viewer, c.page)
			if err != nil {
				t.Fatal(err)
			}
			plainQueries := queries.Load()
			queries.Reset()
			got, total, err := parallel.List(t.Context(), db, c.filter, c.viewer, c.page)
			if err != nil {
				t.Fatal(err)
			}
			if c.page.Limit > 0 {
				ran++
			}
			if total != wantTotal || !reflect.DeepEqual(got, want) {
				t.Fatalf("with the pool: %d articles of %d, %+v\nwithout: %d of %d, %+v", len(got), total, got, len(want), wantTotal, want)
			}
			if n := queries.Load(); n > 3 || plainQueries > 3 {
				t.Fatalf("statements: %d with the pool, %d without; want at most 3", n, plainQueries)
			}
		})
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A stopped pool's counters are exact: every listing with a page counted on the pool.
	if s := p.Stats(); s.Completed != uint64(ran) || s.Failed != 0 {
		t.Fatalf("pool ran %d counts (%d failed), want %d", s.Completed, s.Failed, ran)
	}
}

// In a transaction the count stays on the transaction's connection: the pool is not asked. The
// pool here was never started, so any submission fails, which the listing on the database
// itself shows.
func TestListInTransactionDoesNotUsePool(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	seedArticles(t, db, 4, 30)
	repo := conduit.Articles{Parallel: newPool(t, false)}
	err := db.RunInTx(t.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		views, total, err := repo.List(ctx, tx, conduit.ArticleFilter{}, 1, repository.Page{Limit: 20})
		if err != nil {
			return err
		}
		if total != 30 || len(views) != 20 {
			return fmt.Errorf("got %d articles of %d, want 20 of 30", len(views), total)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := repo.List(t.Context(), db, conduit.ArticleFilter{}, 1, repository.Page{Limit: 20}); !errors.Is(err, pool.ErrNotStarted) {
		t.Fatalf("outside a transaction the listing should have used the (unstarted) pool, got err %v", err)
	}
}

// The count runs under the caller's context: a cancelled request gets its context's error.
func TestListWithPoolHonoursContext(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	seedArticles(t, db, 4, 30)
	repo := conduit.Articles{Parallel: newPool(t, true)}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := repo.List(ctx, db, conduit.ArticleFilter{}, 0, repository.Page{Limit: 20}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got err %v, want context.Canceled", err)
	}
}
