package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestComments(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	anne := a.register("anne")
	slug := a.createArticle(jake, "Commented")
	otherSlug := a.createArticle(jake, "Other")

	c1 := obj(a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/comments", anne, map[string]any{"comment": map[string]any{"body": "First!"}}), "comment")
	if c1["body"] != "First!" || obj(c1, "author")["username"] != "anne" || !isoMillis.MatchString(c1["createdAt"].(string)) {
		t.Fatalf("comment = %v", c1)
	}
	c2 := obj(a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/comments", jake, map[string]any{"comment": map[string]any{"body": "Thanks"}}), "comment")

	list1 := list(a.must(http.StatusOK, "GET", "/api/articles/"+slug+"/comments", "", nil), "comments")
	if len(list1) != 2 || list1[0].(map[string]any)["body"] != "First!" || list1[1].(map[string]any)["body"] != "Thanks" {
		t.Fatalf("comments = %v", list1)
	}
	// The author's "following" is the viewer's.
	a.must(http.StatusOK, "POST", "/api/profiles/anne/follow", jake, nil)
	withAuth := list(a.must(http.StatusOK, "GET", "/api/articles/"+slug+"/comments", jake, nil), "comments")
	if obj(withAuth[0].(map[string]any), "author")["following"] != true {
		t.Fatalf("following not shown: %v", withAuth[0])
	}
	if n := len(list(a.must(http.StatusOK, "GET", "/api/articles/"+otherSlug+"/comments", "", nil), "comments")); n != 0 {
		t.Fatalf("other article has %d comments", n)
	}

	id1 := fmt.Sprint(num(c1["id"]))
	id2 := fmt.Sprint(num(c2["id"]))
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/"+id1, jake, nil), http.StatusForbidden, "comment")
	wantFieldError(t, a.do("DELETE", "/api/articles/"+otherSlug+"/comments/"+id1, anne, nil), http.StatusNotFound, "comment")
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/999999", anne, nil), http.StatusNotFound, "comment")
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/abc", anne, nil), http.StatusUnprocessableEntity, "id")
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/0", anne, nil), http.StatusUnprocessableEntity, "id")
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/-3", anne, nil), http.StatusUnprocessableEntity, "id")
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/"+id1, "", nil), http.StatusUnauthorized, "token")
	a.must(http.StatusNoContent, "DELETE", "/api/articles/"+slug+"/comments/"+id1, anne, nil)
	wantFieldError(t, a.do("DELETE", "/api/articles/"+slug+"/comments/"+id1, anne, nil), http.StatusNotFound, "comment")
	left := list(a.must(http.StatusOK, "GET", "/api/articles/"+slug+"/comments", "", nil), "comments")
	if len(left) != 1 || fmt.Sprint(num(left[0].(map[string]any)["id"])) != id2 {
		t.Fatalf("after delete: %v", left)
	}

	wantFieldError(t, a.do("POST", "/api/articles/"+slug+"/comments", anne, map[string]any{"comment": map[string]any{"body": " "}}), http.StatusUnprocessableEntity, "body")
	wantFieldError(t, a.do("POST", "/api/articles/"+slug+"/comments", anne, map[string]any{"comment": map[string]any{"body": strings.Repeat("c", 10001)}}), http.StatusUnprocessableEntity, "body")
	wantFieldError(t, a.do("POST", "/api/articles/"+slug+"/comments", "", map[string]any{"comment": map[string]any{"body": "x"}}), http.StatusUnauthorized, "token")
	wantFieldError(t, a.do("POST", "/api/articles/nope/comments", anne, map[string]any{"comment": map[string]any{"body": "x"}}), http.StatusNotFound, "article")
	wantFieldError(t, a.do("GET", "/api/articles/nope/comments", "", nil), http.StatusNotFound, "article")
}
