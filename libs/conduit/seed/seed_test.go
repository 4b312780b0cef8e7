package seed_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/auth"
	"github.com/brisk-go/brisk/libs/conduit/seed"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

func TestSeedFillsConsistentData(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	opt := seed.Options{PasswordCost: bcrypt.MinCost, Rand: rand.New(rand.NewPCG(7, 7))}
	var out bytes.Buffer
	// More than one batch of articles, so batching is exercised.
	if err := seed.RunWith(ctx, db, 30, seed.BatchSize+20, &out, opt); err != nil {
		t.Fatal(err)
	}
	// Seeding again adds rather than colliding.
	if err := seed.RunWith(ctx, db, 5, 10, &out, opt); err != nil {
		t.Fatal(err)
	}
	count := func(model any) int {
		t.Helper()
		n, err := db.NewSelect().Model(model).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	if n := count((*conduit.User)(nil)); n != 35 {
		t.Fatalf("users: %d", n)
	}
	if n := count((*conduit.Article)(nil)); n != seed.BatchSize+30 {
		t.Fatalf("articles: %d", n)
	}
	if count((*conduit.Follow)(nil)) == 0 || count((*conduit.ArticleTag)(nil)) == 0 || count((*conduit.Favorite)(nil)) == 0 {
		t.Fatal("no follows, tag links or favorites seeded")
	}
	// Every article's counter matches its favorites.
	var drift int
	err := db.NewSelect().TableExpr("articles AS a").
		ColumnExpr("count(*)").
		Where("a.favorites_count <> (SELECT count(*) FROM favorites AS f WHERE f.article_id = a.id)").
		Scan(ctx, &drift)
	if err != nil || drift != 0 {
		t.Fatalf("%d articles with a drifting favorites_count (err %v)", drift, err)
	}
	// Seeded users can log in with the documented password.
	var u conduit.User
	if err := db.NewSelect().Model(&u).Limit(1).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := (auth.Passwords{}).Check(t.Context(), u.PasswordHash, seed.Password); !ok || err != nil {
		t.Fatalf("seed password does not match: %v %v", ok, err)
	}
	// Not a terminal: plain progress lines.
	if !strings.Contains(out.String(), "seed: articles: ") || !strings.Contains(out.String(), "seed: done") {
		t.Fatalf("progress output: %q", out.String())
	}
}

func TestSeedRejectsImpossibleCounts(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	for _, c := range [][2]int{{-1, 0}, {0, -1}, {0, 5}} {
		if err := seed.Run(t.Context(), db, c[0], c[1], nil); err == nil {
			t.Errorf("Run(users %d, articles %d) succeeded", c[0], c[1])
		}
	}
}
