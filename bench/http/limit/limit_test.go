package limit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brisk-go/brisk/bench/http/limit"
	"github.com/brisk-go/brisk/migrations"
)

const secret = "limit-server-test-secret-of-32-bytes!!"

// schema makes a schema of its own in TEST_DATABASE_URL's database, applies the real
// PostgreSQL migrations in it, and returns a pool whose connections use it.
func schema(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Skip("TEST_DATABASE_URL not set")
	}
	ctx := context.Background()
	name := fmt.Sprintf("limit_test_%d", time.Now().UnixNano())
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
		_ = admin.Close(context.Background())
	})
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	src, err := migrations.Source(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := fs.Glob(src, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ups)
	for _, f := range ups {
		b, err := fs.ReadFile(src, f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return pool
}

func token(t *testing.T, id int64) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   fmt.Sprint(id),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, srv *httptest.Server, path, tok string, wantStatus int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Token "+tok)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: status %d, want %d", path, resp.StatusCode, wantStatus)
	}
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

func keys(m any) string {
	obj, _ := m.(map[string]any)
	var ks []string
	for k := range obj {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

// TestRealWorldShapes seeds two users, a follow, two articles with tags and a favorite with
// plain SQL, and checks every route answers the RealWorld shape with the viewer's flags.
func TestRealWorldShapes(t *testing.T) {
	pool := schema(t)
	ctx := context.Background()
	var reader, author int64
	if err := pool.QueryRow(ctx, `INSERT INTO users (username, email, password_hash) VALUES ('reader', 'r@x.test', 'h') RETURNING id`).Scan(&reader); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `INSERT INTO users (username, email, password_hash, bio) VALUES ('author', 'a@x.test', 'h', 'writes') RETURNING id`).Scan(&author); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)`, []any{reader, author}},
		{`INSERT INTO articles (slug, title, description, body, author_id) VALUES ('one', 'One', 'd1', 'b1', $1)`, []any{author}},
		{`INSERT INTO articles (slug, title, description, body, author_id, favorites_count) VALUES ('two', 'Two', 'd2', 'b2', $1, 1)`, []any{author}},
		{`INSERT INTO tags (name) VALUES ('go'), ('sql')`, nil},
		{`INSERT INTO article_tags SELECT a.id, t.id FROM articles a, tags t WHERE a.slug = 'two'`, nil},
		{`INSERT INTO favorites (user_id, article_id) SELECT $1, id FROM articles WHERE slug = 'two'`, []any{reader}},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	srv := httptest.NewServer(limit.New(pool, []byte(secret)).Handler())
	t.Cleanup(srv.Close)
	tok := token(t, reader)

	u := get(t, srv, "/api/user", tok, http.StatusOK)["user"]
	if got := keys(u); got != "bio,email,image,token,username" {
		t.Errorf("user keys %s", got)
	}
	if u.(map[string]any)["username"] != "reader" {
		t.Errorf("user %v", u)
	}
	get(t, srv, "/api/user", "", http.StatusUnauthorized)
	get(t, srv, "/api/user", token(t, reader)+"x", http.StatusUnauthorized)

	p := get(t, srv, "/api/profiles/author", tok, http.StatusOK)["profile"].(map[string]any)
	if got := keys(p); got != "bio,following,image,username" || p["following"] != true || p["bio"] != "writes" {
		t.Errorf("profile %v", p)
	}
	if p := get(t, srv, "/api/profiles/author", "", http.StatusOK)["profile"].(map[string]any); p["following"] != false {
		t.Errorf("anonymous profile %v", p)
	}
	get(t, srv, "/api/profiles/nobody", tok, http.StatusNotFound)

	wantArticle := "author,createdAt,description,favorited,favoritesCount,slug,tagList,title,updatedAt"
	for _, path := range []string{"/api/articles?limit=20", "/api/articles/feed?limit=20"} {
		page := get(t, srv, path, tok, http.StatusOK)
		if got := keys(page); got != "articles,articlesCount" {
			t.Fatalf("%s keys %s", path, got)
		}
		list := page["articles"].([]any)
		if len(list) != 2 || page["articlesCount"] != float64(2) {
			t.Fatalf("%s: %d articles, count %v", path, len(list), page["articlesCount"])
		}
		first := list[0].(map[string]any) // newest first: "two" was inserted last
		if got := keys(first); got != wantArticle {
			t.Errorf("%s article keys %s", path, got)
		}
		if first["slug"] != "two" || first["favorited"] != true || first["favoritesCount"] != float64(1) ||
			fmt.Sprint(first["tagList"]) != "[go sql]" || first["author"].(map[string]any)["following"] != true {
			t.Errorf("%s first article %v", path, first)
		}
		if second := list[1].(map[string]any); second["favorited"] != false || fmt.Sprint(second["tagList"]) != "[]" {
			t.Errorf("%s second article %v", path, second)
		}
	}
	if page := get(t, srv, "/api/articles/feed?limit=20", token(t, author), http.StatusOK); page["articlesCount"] != float64(0) {
		t.Errorf("author's feed (follows nobody) %v", page)
	}

	for i := 0; i < 2; i++ { // the second answer comes from the static copy
		a := get(t, srv, "/api/articles/two", "", http.StatusOK)["article"].(map[string]any)
		if got := keys(a); got != "author,body,createdAt,description,favorited,favoritesCount,slug,tagList,title,updatedAt" || a["body"] != "b2" || a["favorited"] != false {
			t.Errorf("anonymous article (%d) %v", i, a)
		}
		if ts, _ := a["createdAt"].(string); !strings.HasSuffix(ts, "Z") || len(ts) != len("2006-01-02T15:04:05.000Z") {
			t.Errorf("createdAt %q is not ISO 8601 with milliseconds in UTC", ts)
		}
	}
	if a := get(t, srv, "/api/articles/two", tok, http.StatusOK)["article"].(map[string]any); a["favorited"] != true {
		t.Errorf("signed-in article %v", a)
	}
	get(t, srv, "/api/articles/none", "", http.StatusNotFound)
	if tags := get(t, srv, "/api/tags", "", http.StatusOK); fmt.Sprint(tags["tags"]) != "[go sql]" {
		t.Errorf("tags %v", tags)
	}
}
