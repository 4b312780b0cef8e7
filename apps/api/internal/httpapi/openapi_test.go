package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
)

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(httpapi.OpenAPIYAML())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid document: %v", err)
	}
	return doc
}

// Real requests through the real router, each response checked against the document: its
// status must be documented for the operation and its body must match the schema.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	a := newAPI(t)
	jake := a.register("jake")
	jane := a.register("jane")
	slug := a.createArticle(jake, "How to train your dragon", "dragons", "training")
	a.must(http.StatusOK, "POST", "/api/articles/"+slug+"/comments", jane, map[string]any{"comment": map[string]any{"body": "Nice"}})

	cases := []struct {
		method, path, template, token string
		body                          any
		status                        int
	}{
		{"POST", "/api/users", "/api/users", "", userBody("ann", "ann@example.com", "password1"), 201},
		{"POST", "/api/users", "/api/users", "", userBody("ann", "ann@example.com", "password1"), 422},
		{"POST", "/api/users", "/api/users", "", userBody("", "x", ""), 422},
		{"POST", "/api/users/login", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "jake@example.com", "password": "password1"}}, 200},
		{"POST", "/api/users/login", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "jake@example.com", "password": "wrong-one"}}, 401},
		{"GET", "/api/user", "/api/user", jake, nil, 200},
		{"GET", "/api/user", "/api/user", "", nil, 401},
		{"PUT", "/api/user", "/api/user", jake, map[string]any{"user": map[string]any{"bio": "I like dragons"}}, 200},
		{"GET", "/api/profiles/jake", "/api/profiles/{username}", jane, nil, 200},
		{"GET", "/api/profiles/nobody", "/api/profiles/{username}", "", nil, 404},
		{"POST", "/api/profiles/jake/follow", "/api/profiles/{username}/follow", jane, nil, 200},
		{"DELETE", "/api/profiles/jake/follow", "/api/profiles/{username}/follow", jane, nil, 200},
		{"GET", "/api/articles", "/api/articles", "", nil, 200},
		{"GET", "/api/articles?tag=dragons&limit=5", "/api/articles", jane, nil, 200},
		{"GET", "/api/articles/feed", "/api/articles/feed", jane, nil, 200},
		{"POST", "/api/articles", "/api/articles", jane, articleBody("Jane's article", "x"), 201},
		{"POST", "/api/articles", "/api/articles", jane, map[string]any{"article": map[string]any{}}, 422},
		{"GET", "/api/articles/" + slug, "/api/articles/{slug}", "", nil, 200},
		{"GET", "/api/articles/no-such", "/api/articles/{slug}", "", nil, 404},
		{"PUT", "/api/articles/" + slug, "/api/articles/{slug}", jake, map[string]any{"article": map[string]any{"body": "New body"}}, 200},
		{"PUT", "/api/articles/" + slug, "/api/articles/{slug}", jane, map[string]any{"article": map[string]any{"body": "Mine now"}}, 403},
		{"POST", "/api/articles/" + slug + "/favorite", "/api/articles/{slug}/favorite", jane, nil, 200},
		{"DELETE", "/api/articles/" + slug + "/favorite", "/api/articles/{slug}/favorite", jane, nil, 200},
		{"GET", "/api/articles/" + slug + "/comments", "/api/articles/{slug}/comments", "", nil, 200},
		{"POST", "/api/articles/" + slug + "/comments", "/api/articles/{slug}/comments", jake, map[string]any{"comment": map[string]any{"body": "Thanks"}}, 200},
		{"DELETE", "/api/articles/" + slug + "/comments/999999", "/api/articles/{slug}/comments/{id}", jake, nil, 404},
		{"GET", "/api/tags", "/api/tags", "", nil, 200},
		{"GET", "/api/openapi.json", "/api/openapi.json", "", nil, 200},
		{"DELETE", "/api/articles/" + slug, "/api/articles/{slug}", jake, nil, 204},
	}
	for _, tc := range cases {
		r := a.do(tc.method, tc.path, tc.token, tc.body)
		if r.Code != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.path, r.Code, tc.status, r.Body)
			continue
		}
		if r.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s %s: no X-Request-ID", tc.method, tc.path)
		}
		item := doc.Paths.Find(tc.template)
		if item == nil || item.GetOperation(tc.method) == nil {
			t.Errorf("%s %s: not in the document", tc.method, tc.template)
			continue
		}
		req := httptest.NewRequest(tc.method, tc.path, nil)
		in := &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: doc, Path: tc.template, PathItem: item, Method: tc.method, Operation: item.GetOperation(tc.method)},
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 r.Code,
			Header:                 r.Header,
			Body:                   io.NopCloser(bytes.NewReader(r.Body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		})
		if err != nil {
			t.Errorf("%s %s → %d does not match the document: %v\nbody: %s", tc.method, tc.path, r.Code, err, r.Body)
		}
	}
}

// The document is served in both forms, and they say the same.
func TestOpenAPIServed(t *testing.T) {
	a := newAPI(t)
	y := a.do("GET", "/api/openapi.yaml", "", nil)
	if y.Code != 200 || !bytes.Equal(y.Body, httpapi.OpenAPIYAML()) {
		t.Fatalf("openapi.yaml: %d", y.Code)
	}
	j := a.do("GET", "/api/openapi.json", "", nil)
	if j.Code != 200 || !strings.HasPrefix(j.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", j.Code, j.Header.Get("Content-Type"))
	}
	fromJSON, err := openapi3.NewLoader().LoadFromData(j.Body)
	if err != nil {
		t.Fatal(err)
	}
	if fromJSON.Paths.Len() != loadOpenAPI(t).Paths.Len() || fromJSON.Info.Title != "Brisk Conduit API" {
		t.Errorf("the JSON form differs from the YAML")
	}
}
