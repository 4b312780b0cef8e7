package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// GET /api/user finds the caller by id through the user finder, so concurrent requests share
// batch queries when batching is on; and each still gets its own account.
func TestCurrentUserGoesThroughTheBatchingFinder(t *testing.T) {
	t.Parallel()
	var finder *repository.Finder[conduit.User]
	a := newAPI(t, func(d *deps) {
		var err error
		finder, err = repository.NewFinder[conduit.User](d.svc.DB, repository.FinderOptions{Batching: true})
		if err != nil {
			t.Fatal(err)
		}
		d.svc.UserFinder = finder
	})
	const n = 24
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = a.register(fmt.Sprint("batch", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, tok := range tokens {
		wg.Go(func() {
			r := a.do("GET", "/api/user", tok, nil)
			if r.Code != http.StatusOK {
				errs <- fmt.Errorf("status %d: %s", r.Code, r.Body)
				return
			}
			// Not r.json(t): it may call t.Fatal, which must not run off the test's goroutine.
			var body struct {
				User struct {
					Username string `json:"username"`
				} `json:"user"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				errs <- fmt.Errorf("user %d: body is not JSON: %w", i, err)
				return
			}
			if got := body.User.Username; got != fmt.Sprint("batch", i) {
				errs <- fmt.Errorf("user %d got the account of %v", i, got)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	queries, ids := finder.Stats()
	if ids != n || queries < 1 || queries > n {
		t.Fatalf("finder carried %d ids in %d queries, want all %d finds through it", ids, queries, n)
	}
	t.Logf("%d finds in %d queries", n, queries)
}
