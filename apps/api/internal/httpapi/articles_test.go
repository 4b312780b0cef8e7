package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/conduit"
)

// isoMillis is the timestamp shape the conformance collection accepts.
var isoMillis = regexp.MustCompile(`^\d{4,}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-5]\d\.\d+(?:[+-][0-2]\d:[0-5]\d|Z)$`)

func TestArticleLifecycle(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	other := a.register("other")

	m := a.must(http.StatusCreated, "POST", "/api/articles", jake, articleBody("How to train your dragon", "training", "dragons", "dragons", " training "))
	art := obj(m, "article")
	if art["slug"] != "how-to-train-your-dragon" || art["title"] != "How to train your dragon" || art["body"] != "The body of How to train your dragon" ||
		art["favorited"] != false || num(art["favoritesCount"]) != 0 || obj(art, "author")["username"] != "jake" {
		t.Fatalf("created article = %v", art)
	}
	// Tags are trimmed, de-duplicated and sorted.
	if tags := fmt.Sprint(art["tagList"]); tags != "[dragons training]" {
		t.Fatalf("tagList = %s", tags)
	}
	for _, k := range []string{"createdAt", "updatedAt"} {
		if !isoMillis.MatchString(art[k].(string)) {
			t.Fatalf("%s %q is not ISO 8601 with fraction", k, art[k])
		}
	}

	got := obj(a.must(http.StatusOK, "GET", "/api/articles/how-to-train-your-dragon", "", nil), "article")
	if got["title"] != "How to train your dragon" || got["body"] == nil {
		t.Fatalf("read back = %v", got)
	}

	// The same title again gets a slug of its own.
	second := a.createArticle(jake, "How to train your dragon")
	third := a.createArticle(other, "How to train your dragon")
	if second == "how-to-train-your-dragon" || third == second || !strings.HasPrefix(second, "how-to-train-your-dragon-") {
		t.Fatalf("duplicate-title slugs %q, %q", second, third)
	}
	a.must(http.StatusOK, "GET", "/api/articles/"+second, "", nil)

	// Only the author may change or delete.
	wantFieldError(t, a.do("PUT", "/api/articles/"+second, other, map[string]any{"article": map[string]any{"body": "mine now"}}), http.StatusForbidden, "article")
	if r := a.do("DELETE", "/api/articles/"+second, other, nil); r.Code != http.StatusForbidden {
		t.Fatalf("delete by non-author: %d", r.Code)
	}
	wantFieldError(t, a.do("PUT", "/api/articles/"+second, "", map[string]any{"article": map[string]any{"body": "x"}}), http.StatusUnauthorized, "token")

	// Updating the body keeps the slug; a new title moves it.
	up := obj(a.must(http.StatusOK, "PUT", "/api/articles/how-to-train-your-dragon", jake, map[string]any{"article": map[string]any{"body": "With two hands"}}), "article")
	if up["body"] != "With two hands" || up["slug"] != "how-to-train-your-dragon" || up["description"] != "About How to train your dragon" {
		t.Fatalf("after body update: %v", up)
	}
	up = obj(a.must(http.StatusOK, "PUT", "/api/articles/how-to-train-your-dragon", jake, map[string]any{"article": map[string]any{
		"title": "Did you train your dragon?", "description": "New description", "tagList": []string{"pets"},
	}}), "article")
	if up["slug"] != "did-you-train-your-dragon" || up["title"] != "Did you train your dragon?" || up["description"] != "New description" ||
		up["body"] != "With two hands" || fmt.Sprint(up["tagList"]) != "[pets]" {
		t.Fatalf("after title update: %v", up)
	}
	wantFieldError(t, a.do("GET", "/api/articles/how-to-train-your-dragon", "", nil), http.StatusNotFound, "article")
	a.must(http.StatusOK, "GET", "/api/articles/did-you-train-your-dragon", "", nil)

	// Delete: 204, then gone, with its comments and favorites.
	a.must(http.StatusOK, "POST", "/api/articles/did-you-train-your-dragon/comments", other, map[string]any{"comment": map[string]any{"body": "nice"}})
	a.must(http.StatusOK, "POST", "/api/articles/did-you-train-your-dragon/favorite", other, nil)
	a.must(http.StatusNoContent, "DELETE", "/api/articles/did-you-train-your-dragon", jake, nil)
	wantFieldError(t, a.do("GET", "/api/articles/did-you-train-your-dragon", "", nil), http.StatusNotFound, "article")
	wantFieldError(t, a.do("DELETE", "/api/articles/did-you-train-your-dragon", jake, nil), http.StatusNotFound, "article")
	for _, table := range []any{(*conduit.Comment)(nil), (*conduit.Favorite)(nil)} {
		n, err := a.db.NewSelect().Model(table).Count(t.Context())
		if err != nil || n != 0 {
			t.Fatalf("%T rows left after delete: %d, %v", table, n, err)
		}
	}
	// The tag cloud only shows tags still in use.
	if tags := fmt.Sprint(a.must(http.StatusOK, "GET", "/api/tags", "", nil)["tags"]); tags != "[]" {
		t.Fatalf("tags after deleting the tagged articles: %s", tags)
	}
}

func TestUnicodeTitles(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	for title, want := range map[string]string{
		"Привет, мир!":       "привет-мир",
		"日本語のタイトル":           "日本語のタイトル",
		"Crème brûlée 101":   "crème-brûlée-101",
		"🐉🐉🐉":                "article",
		"  Ünïcödé   Tëst  ": "ünïcödé-tëst",
	} {
		m := a.must(http.StatusCreated, "POST", "/api/articles", jake, articleBody(title, "ünïcödé"))
		art := obj(m, "article")
		if art["slug"] != want || art["title"] != strings.TrimSpace(title) {
			t.Errorf("title %q: slug %q, title %q; want slug %q", title, art["slug"], art["title"], want)
			continue
		}
		got := obj(a.must(http.StatusOK, "GET", "/api/articles/"+url.PathEscape(want), "", nil), "article")
		if got["title"] != strings.TrimSpace(title) {
			t.Errorf("read back %q: %v", want, got["title"])
		}
	}
	m := a.must(http.StatusOK, "GET", "/api/articles?tag="+url.QueryEscape("ünïcödé"), "", nil)
	if num(m["articlesCount"]) != 5 {
		t.Fatalf("unicode tag filter: %v", m["articlesCount"])
	}
}

func TestArticleValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	slug := a.createArticle(jake, "Existing")
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	valid := func() map[string]any {
		return map[string]any{"title": "T", "description": "D", "body": "B", "tagList": []string{"x"}}
	}
	cases := []struct {
		name  string
		set   map[string]any
		field string
	}{
		{"blank title", map[string]any{"title": "   "}, "title"},
		{"long title", map[string]any{"title": strings.Repeat("t", 201)}, "title"},
		{"blank description", map[string]any{"description": ""}, "description"},
		{"blank body", map[string]any{"body": ""}, "body"},
		{"blank tag", map[string]any{"tagList": []string{"ok", " "}}, "tagList"},
		{"long tag", map[string]any{"tagList": []string{strings.Repeat("g", 41)}}, "tagList"},
		{"too many tags", map[string]any{"tagList": many}, "tagList"},
		{"title of wrong type", map[string]any{"title": 42}, "title"},
		{"tagList of wrong type", map[string]any{"tagList": "x"}, "tagList"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := valid()
			for k, v := range c.set {
				body[k] = v
			}
			wantFieldError(t, a.do("POST", "/api/articles", jake, map[string]any{"article": body}), http.StatusUnprocessableEntity, c.field)
		})
	}
	// Missing fields entirely.
	r := a.do("POST", "/api/articles", jake, map[string]any{"article": map[string]any{}})
	for _, f := range []string{"title", "description", "body"} {
		wantFieldError(t, r, http.StatusUnprocessableEntity, f)
	}
	// Updates are checked the same way, only for the fields sent.
	wantFieldError(t, a.do("PUT", "/api/articles/"+slug, jake, map[string]any{"article": map[string]any{"title": ""}}), http.StatusUnprocessableEntity, "title")
	wantFieldError(t, a.do("PUT", "/api/articles/"+slug, jake, map[string]any{"article": map[string]any{"body": ""}}), http.StatusUnprocessableEntity, "body")
	wantFieldError(t, a.do("PUT", "/api/articles/nope", jake, map[string]any{"article": map[string]any{"body": "x"}}), http.StatusNotFound, "article")
	if n := a.must(http.StatusOK, "GET", "/api/articles", "", nil)["articlesCount"]; num(n) != 1 {
		t.Fatalf("invalid requests created articles: count %v", n)
	}
}

func TestListingFiltersAndPagination(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	anne := a.register("anne")
	reader := a.register("reader")

	var jakes, annes []string
	for i := range 5 {
		jakes = append(jakes, a.createArticle(jake, fmt.Sprintf("Jake %d", i), "go", fmt.Sprint("j", i)))
		annes = append(annes, a.createArticle(anne, fmt.Sprintf("Anne %d", i), "rust"))
	}
	slices.Reverse(jakes)
	slices.Reverse(annes)
	a.must(http.StatusOK, "POST", "/api/articles/"+annes[0]+"/favorite", reader, nil)
	a.must(http.StatusOK, "POST", "/api/articles/"+jakes[4]+"/favorite", reader, nil)

	all := a.must(http.StatusOK, "GET", "/api/articles", "", nil)
	if num(all["articlesCount"]) != 10 || len(list(all, "articles")) != 10 {
		t.Fatalf("all: %v", all["articlesCount"])
	}
	first := list(all, "articles")[0].(map[string]any)
	if first["slug"] != annes[0] {
		t.Fatalf("newest first: got %v, want %s", first["slug"], annes[0])
	}
	if _, hasBody := first["body"]; hasBody {
		t.Fatalf("listing carries bodies: %v", first)
	}

	check := func(query, token string, want []string, count int) {
		t.Helper()
		m := a.must(http.StatusOK, "GET", "/api/articles"+query, token, nil)
		if got := slugsOf(m); !slices.Equal(got, want) || num(m["articlesCount"]) != count {
			t.Fatalf("%s: got %v (count %v), want %v (count %d)", query, got, m["articlesCount"], want, count)
		}
	}
	check("?author=jake", "", jakes, 5)
	check("?author=nobody", "", nil, 0)
	check("?tag=rust", "", annes, 5)
	check("?tag=j3", "", []string{jakes[1]}, 1)
	check("?tag=go&author=anne", "", nil, 0)
	check("?favorited=reader", "", []string{annes[0], jakes[4]}, 2)
	check("?favorited=jake", "", nil, 0)
	check("?author=jake&limit=2", "", jakes[:2], 5)
	check("?author=jake&limit=2&offset=2", "", jakes[2:4], 5)
	check("?author=jake&limit=2&offset=4", "", jakes[4:], 5)
	check("?author=jake&offset=5", "", nil, 5)
	check("?author=jake&offset=99999999999999999999", "", nil, 5)
	check("?author=jake&limit=99999999999999999999", "", jakes, 5)
	check("?author=jake&limit=1000000", "", jakes, 5)

	for _, q := range []string{"limit=0", "limit=-1", "offset=-1", "limit=abc", "offset=1.5", "limit="} {
		field := strings.SplitN(q, "=", 2)[0]
		wantFieldError(t, a.do("GET", "/api/articles?"+q, "", nil), http.StatusUnprocessableEntity, field)
		wantFieldError(t, a.do("GET", "/api/articles/feed?"+q, reader, nil), http.StatusUnprocessableEntity, field)
	}

	// favorited and following are the viewer's.
	m := a.must(http.StatusOK, "GET", "/api/articles?favorited=reader", reader, nil)
	for _, art := range list(m, "articles") {
		if art.(map[string]any)["favorited"] != true {
			t.Fatalf("reader's favorites not marked favorited: %v", art)
		}
	}

	// The feed: articles of followed authors only, newest first.
	check2 := func(want []string, count int) {
		t.Helper()
		m := a.must(http.StatusOK, "GET", "/api/articles/feed?limit=20", reader, nil)
		if got := slugsOf(m); !slices.Equal(got, want) || num(m["articlesCount"]) != count {
			t.Fatalf("feed: got %v (count %v), want %v", got, m["articlesCount"], want)
		}
		for _, art := range list(m, "articles") {
			if obj(art.(map[string]any), "author")["following"] != true {
				t.Fatalf("feed article author not followed: %v", art)
			}
		}
	}
	check2(nil, 0)
	a.must(http.StatusOK, "POST", "/api/profiles/jake/follow", reader, nil)
	check2(jakes, 5)
	a.must(http.StatusOK, "POST", "/api/profiles/anne/follow", reader, nil)
	m = a.must(http.StatusOK, "GET", "/api/articles/feed?limit=3&offset=1", reader, nil)
	// Created alternately, so newest first is anne 4, jake 4, anne 3, jake 3, ...
	if got := slugsOf(m); !slices.Equal(got, []string{jakes[0], annes[1], jakes[1]}) || num(m["articlesCount"]) != 10 {
		t.Fatalf("feed page: %v count %v", got, m["articlesCount"])
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	if tags := fmt.Sprint(a.must(http.StatusOK, "GET", "/api/tags", "", nil)["tags"]); tags != "[]" {
		t.Fatalf("empty database tags: %s", tags)
	}
	jake := a.register("jake")
	a.createArticle(jake, "One", "go", "databases")
	a.createArticle(jake, "Two", "go", "api")
	if tags := fmt.Sprint(a.must(http.StatusOK, "GET", "/api/tags", "", nil)["tags"]); tags != "[api databases go]" {
		t.Fatalf("tags: %s", tags)
	}
}
