package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/brisk-go/brisk/libs/conduit/comments"
)

// A comment thread is served in pages: a default limit, a hard cap, a cap on bytes, and the
// thread's length in commentsCount. Before, one GET returned the whole thread (2,000 comments
// of 10 kB made one 20 MB response).
func TestCommentListIsPagedAndBounded(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	slug := a.createArticle(jake, "Popular")
	const n = comments.DefaultLimit + 20
	long := strings.Repeat("x", comments.MaxBody)
	for i := range n {
		body := fmt.Sprintf("%04d %s", i, long[:comments.MaxBody-5])
		a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/comments", jake, map[string]any{"comment": map[string]any{"body": body}})
	}
	path := "/api/articles/" + slug + "/comments"
	page := func(query string) ([]any, int) {
		t.Helper()
		m := a.must(http.StatusOK, "GET", path+query, "", nil)
		return list(m, "comments"), num(m["commentsCount"])
	}
	firstOf := func(cs []any) string { return cs[0].(map[string]any)["body"].(string)[:4] }

	got, total := page("")
	if len(got) != comments.DefaultLimit || total != n || firstOf(got) != "0000" {
		t.Fatalf("default page: %d comments from %s, total %d; want %d from 0000, total %d", len(got), firstOf(got), total, comments.DefaultLimit, n)
	}
	got, total = page("?limit=10&offset=" + fmt.Sprint(n-5))
	if len(got) != 5 || total != n || firstOf(got) != fmt.Sprintf("%04d", n-5) {
		t.Fatalf("last page: %d comments, total %d", len(got), total)
	}
	got, total = page(fmt.Sprintf("?offset=%d", n+10))
	if len(got) != 0 || total != n {
		t.Fatalf("past the end: %d comments, total %d", len(got), total)
	}

	// A huge limit is clamped, and the byte cap ends the page early; the rest follows from
	// offset = what was received.
	big, total := page("?limit=1000000")
	bytes := 0
	for _, c := range big {
		bytes += len(c.(map[string]any)["body"].(string))
	}
	if len(big) >= n || len(big) == 0 || bytes > comments.MaxPageBytes || total != n {
		t.Fatalf("huge limit: %d comments, %d bytes of bodies, total %d; want fewer than %d within %d bytes", len(big), bytes, total, n, comments.MaxPageBytes)
	}
	rest, _ := page(fmt.Sprintf("?limit=%d&offset=%d", comments.MaxLimit, len(big)))
	if len(big)+len(rest) != n || firstOf(rest) != fmt.Sprintf("%04d", len(big)) {
		t.Fatalf("two pages hold %d+%d comments, want %d in order", len(big), len(rest), n)
	}

	for _, bad := range []struct{ query, field string }{
		{"?limit=0", "limit"}, {"?limit=-1", "limit"}, {"?offset=-1", "offset"}, {"?limit=many", "limit"},
	} {
		wantFieldError(t, a.do("GET", path+bad.query, "", nil), http.StatusUnprocessableEntity, bad.field)
	}
}
