package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestRegisterLoginAndCurrentUser(t *testing.T) {
	t.Parallel()
	a := newAPI(t)

	m := a.must(http.StatusCreated, "POST", "/api/users", "", userBody("jake", "Jake@Example.com", "jakejake"))
	u := obj(m, "user")
	if u["username"] != "jake" || u["email"] != "jake@example.com" || u["bio"] != "" || u["image"] != "" {
		t.Fatalf("registered user = %v", u)
	}
	if tok, _ := u["token"].(string); strings.Count(tok, ".") != 2 {
		t.Fatalf("token %q is not a JWT", u["token"])
	}

	// Email is case-insensitive at login.
	m = a.must(http.StatusOK, "POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "JAKE@example.com", "password": "jakejake"}})
	token := obj(m, "user")["token"].(string)

	m = a.must(http.StatusOK, "GET", "/api/user", token, nil)
	if u := obj(m, "user"); u["username"] != "jake" || u["email"] != "jake@example.com" || u["token"] == "" {
		t.Fatalf("current user = %v", u)
	}

	for name, body := range map[string]any{
		"wrong password": map[string]any{"user": map[string]any{"email": "jake@example.com", "password": "wrongwrong"}},
		"unknown email":  map[string]any{"user": map[string]any{"email": "nobody@example.com", "password": "jakejake"}},
	} {
		if r := a.do("POST", "/api/users/login", "", body); r.Code != http.StatusUnauthorized {
			t.Errorf("login with %s: status %d, want 401", name, r.Code)
		}
	}
	wantFieldError(t, a.do("POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "", "password": ""}}), 422, "email")
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.register("taken")
	long := strings.Repeat("x", 65)
	cases := []struct {
		name                      string
		username, email, password string
		field                     string
	}{
		{"blank username", "", "a@example.com", "password1", "username"},
		{"spaces in username", "a b", "a@example.com", "password1", "username"},
		{"long username", long, "a@example.com", "password1", "username"},
		{"blank email", "alice", "", "password1", "email"},
		{"bad email", "alice", "not-an-email", "password1", "email"},
		{"email with name", "alice", "Alice <a@example.com>", "password1", "email"},
		{"blank password", "alice", "a@example.com", "", "password"},
		{"short password", "alice", "a@example.com", "short", "password"},
		{"long password", "alice", "a@example.com", strings.Repeat("p", 73), "password"},
		{"taken username", "taken", "other@example.com", "password1", "username"},
		{"taken email", "other", "TAKEN@example.com", "password1", "email"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantFieldError(t, a.do("POST", "/api/users", "", userBody(c.username, c.email, c.password)), http.StatusUnprocessableEntity, c.field)
		})
	}
	// Several problems at once are all reported.
	r := a.do("POST", "/api/users", "", userBody("", "", ""))
	for _, f := range []string{"username", "email", "password"} {
		wantFieldError(t, r, http.StatusUnprocessableEntity, f)
	}
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	token := a.register("jake")
	a.register("other")

	// Re-sending one's own email (what the conformance run does) is fine.
	a.must(http.StatusOK, "PUT", "/api/user", token, map[string]any{"user": map[string]any{"email": "jake@example.com"}})

	m := a.must(http.StatusOK, "PUT", "/api/user", token, map[string]any{"user": map[string]any{
		"username": "jacob", "email": "jacob@example.com", "bio": "I like to skateboard",
		"image": "https://i.stack.imgur.com/xHWG8.jpg", "password": "newpassword",
	}})
	u := obj(m, "user")
	if u["username"] != "jacob" || u["email"] != "jacob@example.com" || u["bio"] != "I like to skateboard" || u["image"] != "https://i.stack.imgur.com/xHWG8.jpg" {
		t.Fatalf("updated user = %v", u)
	}
	// The change is stored: the old token still names the user, the new password works, the old does not.
	if got := obj(a.must(http.StatusOK, "GET", "/api/user", token, nil), "user")["username"]; got != "jacob" {
		t.Fatalf("current username %v after update", got)
	}
	a.must(http.StatusOK, "POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "jacob@example.com", "password": "newpassword"}})
	if r := a.do("POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "jacob@example.com", "password": "password1"}}); r.Code != http.StatusUnauthorized {
		t.Fatalf("old password: status %d", r.Code)
	}
	a.must(http.StatusOK, "GET", "/api/profiles/jacob", "", nil)
	if r := a.do("GET", "/api/profiles/jake", "", nil); r.Code != http.StatusNotFound {
		t.Fatalf("old username profile: status %d", r.Code)
	}
	// Clearing the bio works; null leaves a field alone.
	m = a.must(http.StatusOK, "PUT", "/api/user", token, map[string]any{"user": map[string]any{"bio": "", "image": nil}})
	if u := obj(m, "user"); u["bio"] != "" || u["image"] != "https://i.stack.imgur.com/xHWG8.jpg" {
		t.Fatalf("after clearing bio: %v", u)
	}

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"username": "other"}, "username"},
		{map[string]any{"email": "other@example.com"}, "email"},
		{map[string]any{"email": "bad"}, "email"},
		{map[string]any{"username": ""}, "username"},
		{map[string]any{"password": "short"}, "password"},
		{map[string]any{"image": "javascript:alert(1)"}, "image"},
		{map[string]any{"bio": strings.Repeat("b", 2001)}, "bio"},
		{map[string]any{}, "user"},
	} {
		wantFieldError(t, a.do("PUT", "/api/user", token, map[string]any{"user": c.body}), http.StatusUnprocessableEntity, c.field)
	}
	if r := a.do("PUT", "/api/user", "", map[string]any{"user": map[string]any{"bio": "x"}}); r.Code != http.StatusUnauthorized {
		t.Fatalf("update without token: %d", r.Code)
	}
}
