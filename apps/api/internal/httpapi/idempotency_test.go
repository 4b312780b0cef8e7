package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/apps/api/internal/httpapi"
	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/perfcore/events"
)

// apiOver builds the API over its own connection to the database at url, as a process does
// at start: two of them over one URL are an API before and after a restart.
func apiOver(t *testing.T, url string) *api {
	t.Helper()
	db, err := data.Open(context.Background(), data.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	set, err := services.New(services.Deps{DB: db, JWTSecret: testSecret, TokenTTL: time.Hour, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Deps{
		Services: set, MaxBodyBytes: 64 << 10, Deadlines: defaultDeadlines,
		Idempotency: &httpapi.Idempotency{DB: db},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, h: h, db: db}
}

// A POST retried with its Idempotency-Key gets the first answer, across a restart of the API,
// and does the write once; the same key with another body is a 422; keys are per user.
// Before, every retry of a POST created another article.
func TestIdempotencyKeyAcrossRestart(t *testing.T) {
	t.Parallel()
	_, url := datatest.NewWithURL(t)
	first := apiOver(t, url)
	jake := first.register("jake")
	anne := first.register("anne")
	key := []string{httpapi.IdempotencyKeyHeader, "create-article-1"}

	r1 := first.do("POST", "/api/articles", jake, articleBody("Once only", "go"), key...)
	if r1.Code != http.StatusCreated {
		t.Fatalf("first POST: %d %s", r1.Code, r1.Body)
	}
	again := first.do("POST", "/api/articles", jake, articleBody("Once only", "go"), key...)
	if again.Code != r1.Code || !bytes.Equal(again.Body, r1.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %d %s, want the first answer replayed", again.Code, again.Body)
	}

	restarted := apiOver(t, url)
	after := restarted.do("POST", "/api/articles", jake, articleBody("Once only", "go"), key...)
	if after.Code != r1.Code || !bytes.Equal(after.Body, r1.Body) {
		t.Fatalf("retry after restart: %d %s, want %d %s", after.Code, after.Body, r1.Code, r1.Body)
	}
	wantFieldError(t, restarted.do("POST", "/api/articles", jake, articleBody("Something else"), key...),
		http.StatusUnprocessableEntity, httpapi.IdempotencyKeyHeader)

	// Another user's key of the same name is another key.
	if r := restarted.do("POST", "/api/articles", anne, articleBody("Anne's", "go"), key...); r.Code != http.StatusCreated {
		t.Fatalf("anne's POST with the same key name: %d %s", r.Code, r.Body)
	}
	m := restarted.must(http.StatusOK, "GET", "/api/articles?author=jake", "", nil)
	if n := num(m["articlesCount"]); n != 1 {
		t.Fatalf("jake has %d articles after three tries with one key, want 1", n)
	}
	wantFieldError(t, restarted.do("POST", "/api/articles", jake, articleBody("x"), httpapi.IdempotencyKeyHeader, "bad\x01key"),
		http.StatusBadRequest, httpapi.IdempotencyKeyHeader)
}

// An outcome that invites a retry (here a 504: the deadline passed) is not stored: the retry
// runs again instead of replaying the failure.
func TestIdempotencyDoesNotStoreRetryableFailures(t *testing.T) {
	t.Parallel()
	_, url := datatest.NewWithURL(t)
	a := apiOver(t, url)
	jake := a.register("jake")
	key := []string{httpapi.IdempotencyKeyHeader, "k", httpapi.TimeoutHeader, "1ns"}
	r := a.do("POST", "/api/articles", jake, articleBody("Timed out"), key...)
	if r.Code != http.StatusGatewayTimeout {
		t.Skipf("the request beat a 1ns deadline (status %d)", r.Code)
	}
	if r := a.do("POST", "/api/articles", jake, articleBody("Timed out"), httpapi.IdempotencyKeyHeader, "k"); r.Code != http.StatusCreated {
		t.Fatalf("retry after a 504: %d %s, want it to run", r.Code, r.Body)
	}
}

// A POST whose change commits but whose answer fails (here an after-commit listener holds
// the request past its deadline, so the read that builds the answer gets 504) must not be
// run again by a retry with its key: the key was marked saved in the change's transaction,
// and the retry gets a 409 saying so. Before, the 504 released the key and the retry created
// a second article. A 504 before any commit still lets the retry run (the test above).
func TestIdempotencyKeyOfACommittedChangeIsNotReleasedByItsFailure(t *testing.T) {
	t.Parallel()
	var hold atomic.Bool
	a := newAPI(t, func(d *deps) {
		d.http.Idempotency = &httpapi.Idempotency{DB: d.svc.DB}
		d.http.Deadlines = defaultDeadlines
		d.http.Logger = quietLog
		d.listen = append(d.listen, func(ev *conduit.Events) {
			if err := ev.ArticlePublished.Listen("hold-past-the-deadline", func(ctx context.Context, _ conduit.ArticlePublished) error {
				if hold.Load() {
					<-ctx.Done()
				}
				return nil
			}, events.AfterCommit()); err != nil {
				t.Fatal(err)
			}
		})
	})
	jake := a.register("jake")
	hold.Store(true)
	r := a.do("POST", "/api/articles", jake, articleBody("Saved, answer lost"), httpapi.IdempotencyKeyHeader, "k1", httpapi.TimeoutHeader, "200ms")
	if r.Code < 500 {
		t.Fatalf("first POST: %d %s, want a 5xx after the commit", r.Code, r.Body)
	}
	hold.Store(false)
	articles := func() int {
		t.Helper()
		m := a.must(http.StatusOK, "GET", "/api/articles?author=jake", "", nil)
		return int(num(m["articlesCount"]))
	}
	if n := articles(); n != 1 {
		t.Fatalf("after the failed answer jake has %d articles, want 1 (the change committed)", n)
	}
	retry := a.do("POST", "/api/articles", jake, articleBody("Saved, answer lost"), httpapi.IdempotencyKeyHeader, "k1")
	wantFieldError(t, retry, http.StatusConflict, httpapi.IdempotencyKeyHeader)
	if n := articles(); n != 1 {
		t.Fatalf("after the retry jake has %d articles, want 1", n)
	}
	// Another key runs.
	if r := a.do("POST", "/api/articles", jake, articleBody("Another"), httpapi.IdempotencyKeyHeader, "k2"); r.Code != http.StatusCreated {
		t.Fatalf("POST with a new key: %d %s", r.Code, r.Body)
	}
}

// The edges of an idempotent POST: the longest key (255 characters) is taken and one more is
// refused; a body of exactly the size limit is stored whole and replayed with its content
// type; a stored outcome logs no warning.
func TestIdempotencyAtItsLimits(t *testing.T) {
	t.Parallel()
	db, _ := datatest.NewWithURL(t)
	set, err := services.New(services.Deps{DB: db, JWTSecret: testSecret, TokenTTL: time.Hour, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	const limit = 64 << 10
	h, err := httpapi.New(httpapi.Deps{
		Services: set, MaxBodyBytes: limit, Deadlines: defaultDeadlines,
		Idempotency: &httpapi.Idempotency{DB: db},
		Logger:      slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &api{t: t, h: h, db: db}

	longest := strings.Repeat("k", 255)
	if r := a.do("POST", "/api/users", "", registration("longkey"), httpapi.IdempotencyKeyHeader, longest); r.Code != http.StatusCreated {
		t.Fatalf("POST with a 255-character key: %d %s", r.Code, r.Body)
	}
	wantFieldError(t, a.do("POST", "/api/users", "", registration("toolong"), httpapi.IdempotencyKeyHeader, longest+"k"),
		http.StatusBadRequest, httpapi.IdempotencyKeyHeader)
	// Printable ASCII is space to tilde, both included.
	if r := a.do("POST", "/api/users", "", registration("edgekey"), httpapi.IdempotencyKeyHeader, "a b~"); r.Code != http.StatusCreated {
		t.Fatalf("POST with the key %q: %d %s", "a b~", r.Code, r.Body)
	}
	for _, bad := range []string{"a\x1fb", "a\x7fb"} {
		wantFieldError(t, a.do("POST", "/api/users", "", registration("badkey"), httpapi.IdempotencyKeyHeader, bad),
			http.StatusBadRequest, httpapi.IdempotencyKeyHeader)
	}

	// Leading blanks bring the body to exactly the limit: cut short by one byte, it would lose
	// its closing brace.
	raw, err := json.Marshal(registration("fullsize"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat(" ", limit-len(raw)) + string(raw)
	key := []string{httpapi.IdempotencyKeyHeader, "full-size-body"}
	first := a.do("POST", "/api/users", "", body, key...)
	if first.Code != http.StatusCreated {
		t.Fatalf("POST of a body of exactly %d bytes: %d %s", limit, first.Code, first.Body)
	}
	again := a.do("POST", "/api/users", "", body, key...)
	if again.Code != first.Code || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry of the full-size body: %d %s (replayed %q), want the first answer replayed",
			again.Code, again.Body, again.Header.Get("Idempotent-Replayed"))
	}
	if ct := again.Header.Get("Content-Type"); ct != first.Header.Get("Content-Type") || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("replayed Content-Type %q, first answer's %q", ct, first.Header.Get("Content-Type"))
	}
	if logs.Len() != 0 {
		t.Fatalf("stored outcomes logged warnings: %s", logs.String())
	}
}

func registration(name string) map[string]any {
	return map[string]any{"user": map[string]any{"username": name, "email": name + "@example.com", "password": "password1"}}
}
