package httpapi_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
)

func TestUnknownRoutesAndMethodsAreJSON(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	for _, c := range []struct {
		method, path string
		status       int
		field        string
	}{
		{"GET", "/api/nope", http.StatusNotFound, "route"},
		{"GET", "/nope", http.StatusNotFound, "route"},
		{"PATCH", "/api/user", http.StatusMethodNotAllowed, "method"},
		{"DELETE", "/api/tags", http.StatusMethodNotAllowed, "method"},
		// No trailing-slash redirects: a 301 would turn a PUT into a GET.
		{"PUT", "/api/user/", http.StatusNotFound, "route"},
		{"GET", "/api/articles/", http.StatusNotFound, "route"},
		{"GET", "/API/TAGS", http.StatusNotFound, "route"},
	} {
		r := a.do(c.method, c.path, "", nil)
		wantFieldError(t, r, c.status, c.field)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
	}
}

func TestMalformedAndOversizedBodies(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	token := a.register("jake")
	for name, body := range map[string]string{
		"not JSON":       "{user:",
		"empty":          "",
		"truncated":      `{"user":{"email":"a@example.com"`,
		"two values":     `{"user":{}} {"user":{}}`,
		"trailing junk":  `{"user":{}} x`,
		"array at root":  `[1,2]`,
		"string at root": `"user"`,
	} {
		t.Run(name, func(t *testing.T) {
			r := a.do("POST", "/api/users", "", body)
			if name == "array at root" || name == "string at root" {
				// Valid JSON of the wrong shape is a validation problem, not a parse one.
				if r.Code != http.StatusUnprocessableEntity && r.Code != http.StatusBadRequest {
					t.Fatalf("status %d: %s", r.Code, r.Body)
				}
				return
			}
			wantFieldError(t, r, http.StatusBadRequest, "body")
		})
	}
	huge := `{"article":{"title":"t","description":"d","body":"` + strings.Repeat("x", 70<<10) + `"}}`
	wantFieldError(t, a.do("POST", "/api/articles", token, huge), http.StatusRequestEntityTooLarge, "body")
	// Without a Content-Length the limit is enforced while reading.
	r := a.doChunked("POST", "/api/articles", token, huge)
	wantFieldError(t, r, http.StatusRequestEntityTooLarge, "body")
}

// MaxBodyBytes 0 means the default cap (1 MiB), not a cap of nothing: an ordinary body goes
// through, one past the default is refused.
func TestZeroMaxBodyBytesMeansTheDefault(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(d *deps) { d.http.MaxBodyBytes = 0 })
	r := a.do("POST", "/api/users", "", map[string]any{"user": map[string]any{"username": "zed", "email": "zed@example.com", "password": "password1"}})
	if r.Code != http.StatusCreated {
		t.Fatalf("registration under the default cap: %d %s", r.Code, r.Body)
	}
	huge := `{"user":{"username":"` + strings.Repeat("x", httpapi.DefaultMaxBodyBytes) + `"}}`
	wantFieldError(t, a.do("POST", "/api/users", "", huge), http.StatusRequestEntityTooLarge, "body")
}

func TestCORS(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	r := a.do("OPTIONS", "/api/articles", "", nil,
		"Origin", "http://localhost:4200", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "authorization,content-type")
	if r.Code != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:4200" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "PUT") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", r.Code, r.Header)
	}
	r = a.do("GET", "/api/tags", "", nil, "Origin", "http://localhost:4200")
	if r.Code != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "http://localhost:4200" {
		t.Fatalf("simple request: %d %v", r.Code, r.Header)
	}
	r = a.do("GET", "/api/tags", "", nil, "Origin", "http://evil.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed origin got %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	r = a.do("OPTIONS", "/api/tags", "", nil, "Origin", "http://evil.example", "Access-Control-Request-Method", "GET")
	if r.Header.Get("Access-Control-Allow-Origin") != "" || r.Code == http.StatusNoContent {
		t.Fatalf("disallowed preflight: %d %v", r.Code, r.Header)
	}
}

// Nothing a client sends may cause a 500: NUL characters, which no database accepts in text,
// are refused up front, in the URL and in bodies alike.
func TestNULCharacters(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	token := a.register("jake")
	slug := a.createArticle(token, "Fine")
	for _, path := range []string{"/api/articles/a%00b", "/api/profiles/a%00b", "/api/articles?tag=a%00b", "/api/articles?author=%00", "/api/articles/" + slug + "/comments/1%00"} {
		if r := a.do("GET", path, token, nil); r.Code != http.StatusBadRequest && r.Code != http.StatusNotFound && r.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET %s: status %d %s", path, r.Code, r.Body)
		}
	}
	nul := `a\u0000b`
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", "/api/users/login", `{"user":{"email":"` + nul + `","password":"x"}}`, "email"},
		{"POST", "/api/users", `{"user":{"username":"` + nul + `","email":"n@example.com","password":"password1"}}`, "username"},
		{"PUT", "/api/user", `{"user":{"bio":"` + nul + `"}}`, "bio"},
		{"POST", "/api/articles", `{"article":{"title":"` + nul + `","description":"d","body":"b"}}`, "title"},
		{"POST", "/api/articles", `{"article":{"title":"t","description":"d","body":"b","tagList":["` + nul + `"]}}`, "tagList"},
		{"POST", "/api/articles/" + slug + "/comments", `{"comment":{"body":"` + nul + `"}}`, "body"},
	} {
		wantFieldError(t, a.do(c.method, c.path, token, c.body), http.StatusUnprocessableEntity, c.field)
	}
}

// A failure the client cannot fix is a 500 with a generic message; its cause goes to the log
// only.
func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	a := newAPI(t, func(d *deps) {
		d.http.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	})
	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
	r := a.do("GET", "/api/tags", "", nil)
	wantFieldError(t, r, http.StatusInternalServerError, "server")
	if strings.Contains(string(r.Body), "closed") {
		t.Fatalf("cause leaked to the client: %s", r.Body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "request failed") || !strings.Contains(logs.String(), "closed") {
		t.Fatalf("cause not logged: %q", logs.String())
	}
	// Client errors are not logged.
	logs.Reset()
	mu.Unlock()
	a.do("GET", "/api/nope", "", nil)
	a.do("GET", "/api/user", "", nil)
	mu.Lock()
	if logs.Len() != 0 {
		t.Fatalf("client errors logged: %q", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
