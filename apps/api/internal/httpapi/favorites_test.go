package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/brisk-go/brisk/libs/conduit"
)

func TestFavorites(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	jake := a.register("jake")
	anne := a.register("anne")
	slug := a.createArticle(jake, "Favorite me")

	fav := func(token, method string, favorited bool, count int) {
		t.Helper()
		art := obj(a.must(http.StatusOK, method, "/api/articles/"+slug+"/favorite", token, nil), "article")
		if art["favorited"] != favorited || num(art["favoritesCount"]) != count {
			t.Fatalf("%s favorite: favorited %v count %v, want %v %d", method, art["favorited"], art["favoritesCount"], favorited, count)
		}
	}
	fav(anne, "POST", true, 1)
	fav(anne, "POST", true, 1) // twice counts once
	fav(jake, "POST", true, 2)
	if art := obj(a.must(http.StatusOK, "GET", "/api/articles/"+slug, "", nil), "article"); art["favorited"] != false || num(art["favoritesCount"]) != 2 {
		t.Fatalf("anonymous view: %v", art)
	}
	fav(anne, "DELETE", false, 1)
	fav(anne, "DELETE", false, 1) // twice is harmless
	fav(jake, "DELETE", false, 0)

	wantFieldError(t, a.do("POST", "/api/articles/nope/favorite", anne, nil), http.StatusNotFound, "article")
	wantFieldError(t, a.do("POST", "/api/articles/"+slug+"/favorite", "", nil), http.StatusUnauthorized, "token")
}

// Many users favoriting and unfavoriting one article at once must leave the count equal to
// the favorites actually stored, and each user's last action in force.
func TestConcurrentFavoritesStayConsistent(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	author := a.register("author")
	slug := a.createArticle(author, "Popular")
	const users, rounds = 8, 6
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = a.register(fmt.Sprint("fan", i))
	}

	var wg sync.WaitGroup
	errs := make(chan string, users*rounds*2)
	for i, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				// Even users end favorited, odd ones unfavorited; each also races itself.
				methods := []string{"POST", "DELETE"}
				if i%2 == 0 && r == rounds-1 {
					methods = []string{"DELETE", "POST"}
				}
				var inner sync.WaitGroup
				for _, m := range methods {
					inner.Add(1)
					go func() {
						defer inner.Done()
						if res := a.do(m, "/api/articles/"+slug+"/favorite", tok, nil); res.Code != http.StatusOK {
							errs <- fmt.Sprintf("%s: %d %s", m, res.Code, res.Body)
						}
					}()
				}
				inner.Wait()
				// Settle this user's state for the round, sequentially.
				final := "DELETE"
				if i%2 == 0 && r == rounds-1 {
					final = "POST"
				}
				if res := a.do(final, "/api/articles/"+slug+"/favorite", tok, nil); res.Code != http.StatusOK {
					errs <- fmt.Sprintf("%s: %d %s", final, res.Code, res.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	rows, err := a.db.NewSelect().Model((*conduit.Favorite)(nil)).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	art := obj(a.must(http.StatusOK, "GET", "/api/articles/"+slug, "", nil), "article")
	if got := num(art["favoritesCount"]); got != int(rows) || rows != users/2 {
		t.Fatalf("favoritesCount %d, stored favorites %d, want both %d", got, rows, users/2)
	}
	for i, tok := range tokens {
		art := obj(a.must(http.StatusOK, "GET", "/api/articles/"+slug, tok, nil), "article")
		if want := i%2 == 0; art["favorited"] != want {
			t.Errorf("fan%d favorited = %v, want %v", i, art["favorited"], want)
		}
	}
}
