package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/data/datatest"
)

// Without StaleAfter, a key held by an unfinished request is in use for five minutes: a retry
// at four minutes is a 409, one at six takes the key over and runs.
func TestIdempotencyKeyIsStaleAfterFiveMinutesByDefault(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	h := &handlers{}
	e := bareEngine(h.idempotency(&Idempotency{DB: datatest.New(t), Now: clock}, 1<<20, slog.New(slog.DiscardHandler)))
	started, release := make(chan struct{}), make(chan struct{})
	var calls int
	e.POST("/things", func(c *gin.Context) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first { // the request that never finishes (its process died)
			close(started)
			<-release
		}
		c.JSON(http.StatusCreated, gin.H{"ok": true})
	})
	post := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"thing":1}`))
		r.Header.Set(IdempotencyKeyHeader, "held")
		return serve(e, r)
	}
	done := make(chan struct{})
	go func() { defer close(done); post() }()
	defer func() { close(release); <-done }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never ran")
	}

	advance(4 * time.Minute)
	if w := post(); w.Code != http.StatusConflict {
		t.Fatalf("retry 4 minutes into an unfinished request: %d %s, want 409", w.Code, w.Body)
	}
	advance(2 * time.Minute)
	if w := post(); w.Code != http.StatusCreated {
		t.Fatalf("retry 6 minutes into an unfinished request: %d %s, want it run (201)", w.Code, w.Body)
	}
}
