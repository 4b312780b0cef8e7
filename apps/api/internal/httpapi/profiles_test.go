package httpapi_test

import (
	"net/http"
	"testing"
)

func TestProfilesAndFollowing(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	a.register("celeb")

	p := obj(a.must(http.StatusOK, "GET", "/api/profiles/celeb", "", nil), "profile")
	if p["username"] != "celeb" || p["following"] != false || p["bio"] != "" || p["image"] != "" {
		t.Fatalf("anonymous profile = %v", p)
	}
	if p := obj(a.must(http.StatusOK, "POST", "/api/profiles/celeb/follow", jake, nil), "profile"); p["following"] != true {
		t.Fatalf("after follow: %v", p)
	}
	// Following twice is idempotent.
	a.must(http.StatusOK, "POST", "/api/profiles/celeb/follow", jake, nil)
	if p := obj(a.must(http.StatusOK, "GET", "/api/profiles/celeb", jake, nil), "profile"); p["following"] != true {
		t.Fatalf("profile as follower: %v", p)
	}
	if p := obj(a.must(http.StatusOK, "GET", "/api/profiles/celeb", "", nil), "profile"); p["following"] != false {
		t.Fatalf("anonymous sees following: %v", p)
	}
	if p := obj(a.must(http.StatusOK, "DELETE", "/api/profiles/celeb/follow", jake, nil), "profile"); p["following"] != false {
		t.Fatalf("after unfollow: %v", p)
	}
	a.must(http.StatusOK, "DELETE", "/api/profiles/celeb/follow", jake, nil)
	if p := obj(a.must(http.StatusOK, "GET", "/api/profiles/celeb", jake, nil), "profile"); p["following"] != false {
		t.Fatalf("profile after unfollow: %v", p)
	}

	wantFieldError(t, a.do("GET", "/api/profiles/nobody", "", nil), http.StatusNotFound, "profile")
	wantFieldError(t, a.do("POST", "/api/profiles/nobody/follow", jake, nil), http.StatusNotFound, "profile")
	wantFieldError(t, a.do("POST", "/api/profiles/jake/follow", jake, nil), http.StatusUnprocessableEntity, "username")
	wantFieldError(t, a.do("POST", "/api/profiles/celeb/follow", "", nil), http.StatusUnauthorized, "token")
	wantFieldError(t, a.do("DELETE", "/api/profiles/celeb/follow", "", nil), http.StatusUnauthorized, "token")
}
