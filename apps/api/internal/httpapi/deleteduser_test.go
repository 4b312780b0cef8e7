package httpapi_test

import (
	"context"
	"net/http"
	"testing"
)

// A validly signed token whose account was deleted is a 401 on every route that reads the
// token, reads and writes alike. Before the auth middleware resolved the user, the writes
// answered 5xx (a foreign-key violation) while GET /api/user said 401.
func TestTokenOfDeletedUserIs401Everywhere(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(d *deps) { d.http.Deadlines = defaultDeadlines })
	author := a.register("author")
	slug := a.createArticle(author, "Still here", "go")
	ghost := a.register("ghost")
	if _, err := a.db.NewRaw("DELETE FROM users WHERE username = ?", "ghost").Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	comment := map[string]any{"comment": map[string]any{"body": "boo"}}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/user", nil},
		{"PUT", "/api/user", map[string]any{"user": map[string]any{"bio": "x"}}},
		{"POST", "/api/articles", articleBody("Haunted")},
		{"POST", "/api/articles/" + slug + "/comments", comment},
		{"POST", "/api/articles/" + slug + "/favorite", nil},
		{"DELETE", "/api/articles/" + slug + "/favorite", nil},
		{"POST", "/api/profiles/author/follow", nil},
		{"DELETE", "/api/profiles/author/follow", nil},
		{"GET", "/api/articles/feed", nil},
		{"GET", "/api/articles", nil},
		{"GET", "/api/articles/" + slug, nil},
		{"GET", "/api/articles/" + slug + "/comments", nil},
		{"GET", "/api/profiles/author", nil},
	} {
		r := a.do(c.method, c.path, ghost, c.body)
		if r.Code != http.StatusUnauthorized {
			t.Errorf("%s %s with a deleted user's token: status %d, want 401; body %s", c.method, c.path, r.Code, r.Body)
		}
	}
	// The live author is unaffected.
	a.must(http.StatusOK, "GET", "/api/user", author, nil)
}
