package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/listeners"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/jobs"
)

var testSecret = []byte("test-secret-test-secret-test-secret!")

// api is the real router over a fresh, migrated database.
type api struct {
	t  testing.TB
	h  http.Handler
	db *bun.DB
	// queries counts every statement that reaches the database driver, whether Bun's query
	// builder or a repository's prepared fast path sent it.
	queries *datatest.Counter
}

// deps is what a test may change before the API is built: the services' parts and the HTTP
// settings, as the app's run function would pass them.
type deps struct {
	svc  services.Deps
	http httpapi.Deps
	// queue, when set, gets the jobs of changes through the app's listeners; listen adds
	// listeners of the test's own after the app's.
	queue  *jobs.Queue
	listen []func(*conduit.Events)
}

func newAPI(t testing.TB, tweak ...func(*deps)) *api {
	t.Helper()
	db, counter := datatest.NewCounted(t)
	d := deps{
		svc: services.Deps{
			DB:           db,
			JWTSecret:    testSecret,
			TokenTTL:     time.Hour,
			PasswordCost: bcrypt.MinCost,
		},
		http: httpapi.Deps{
			CORSAllowedOrigins: []string{"http://localhost:4200"},
			MaxBodyBytes:       64 << 10,
		},
	}
	for _, f := range tweak {
		f(&d)
	}
	// The listeners the app registers, over the parts this test has.
	ev := conduit.NoEvents()
	if err := listeners.Register(ev, listeners.Deps{Queue: d.queue, Cache: d.svc.Cache}); err != nil {
		t.Fatalf("listeners: %v", err)
	}
	for _, f := range d.listen {
		f(ev)
	}
	d.svc.Events = ev
	set, err := services.New(d.svc)
	if err != nil {
		t.Fatalf("services.New: %v", err)
	}
	d.http.Services = set
	h, err := httpapi.New(d.http)
	if err != nil {
		t.Fatalf("httpapi.New: %v", err)
	}
	return &api{t: t, h: h, db: db, queries: counter}
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// json decodes the body into a generic map, failing the test when it is not JSON.
func (r *response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, r.Body)
	}
	return m
}

// do sends a request. body may be nil, a string (sent as is) or anything else (sent as JSON).
func (a *api) do(method, path, token string, body any, headers ...string) *response {
	a.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			a.t.Fatalf("marshal request: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return &response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// doChunked sends body with no Content-Length, as a streaming client would.
func (a *api) doChunked(method, path, token, body string) *response {
	a.t.Helper()
	req := httptest.NewRequest(method, path, io.MultiReader(strings.NewReader(body)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+token)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return &response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// must sends a request and fails the test unless the status is want.
func (a *api) must(want int, method, path, token string, body any) map[string]any {
	a.t.Helper()
	r := a.do(method, path, token, body)
	if r.Code != want {
		a.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, r.Code, want, r.Body)
	}
	if want == http.StatusNoContent {
		return nil
	}
	return r.json(a.t)
}

// register creates a user and returns its token.
func (a *api) register(name string) string {
	a.t.Helper()
	m := a.must(http.StatusCreated, "POST", "/api/users", "", userBody(name, name+"@example.com", "password1"))
	return m["user"].(map[string]any)["token"].(string)
}

func userBody(username, email, password string) map[string]any {
	return map[string]any{"user": map[string]any{"username": username, "email": email, "password": password}}
}

func articleBody(title string, tags ...string) map[string]any {
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{"article": map[string]any{
		"title": title, "description": "About " + title, "body": "The body of " + title, "tagList": tags,
	}}
}

// createArticle publishes an article and returns its slug.
func (a *api) createArticle(token, title string, tags ...string) string {
	a.t.Helper()
	m := a.must(http.StatusCreated, "POST", "/api/articles", token, articleBody(title, tags...))
	return m["article"].(map[string]any)["slug"].(string)
}

// wantFieldError fails unless r is status with an errors body naming field.
func wantFieldError(t testing.TB, r *response, status int, field string) {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status %d, want %d; body %s", r.Code, status, r.Body)
	}
	errs, ok := r.json(t)["errors"].(map[string]any)
	if !ok {
		t.Fatalf("no errors object in %s", r.Body)
	}
	msgs, ok := errs[field].([]any)
	if !ok || len(msgs) == 0 {
		t.Fatalf("errors do not name %q: %s", field, r.Body)
	}
	for _, m := range msgs {
		if s, _ := m.(string); strings.TrimSpace(s) == "" {
			t.Fatalf("empty message for %q: %s", field, r.Body)
		}
	}
}

func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func list(m map[string]any, key string) []any {
	v, _ := m[key].([]any)
	return v
}

func slugsOf(m map[string]any) []string {
	var out []string
	for _, a := range list(m, "articles") {
		out = append(out, a.(map[string]any)["slug"].(string))
	}
	return out
}

func num(v any) int {
	f, ok := v.(float64)
	if !ok {
		panic(fmt.Sprintf("not a number: %#v", v))
	}
	return int(f)
}
