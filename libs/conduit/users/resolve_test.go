package users_test

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/auth"
	"github.com/brisk-go/brisk/libs/conduit/listeners"
	"github.com/brisk-go/brisk/libs/conduit/users"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// Every authenticated request resolves its token's user. With a cache the account is read
// from the database once, kept without its password hash, dropped when its owner updates it,
// and a failed find is never kept.
func TestResolveKeepsTheAccountUntilItsOwnerChangesIt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, queries := datatest.NewCounted(t)
	c, err := cache.NewMemory(cache.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ev := conduit.NoEvents()
	if err := listeners.Register(ev, listeners.Deps{Cache: c}); err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens([]byte("test-secret-test-secret-test-secret!"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := users.NewService(users.Deps{
		DB: db, Tokens: tokens, Passwords: auth.Passwords{Cost: bcrypt.MinCost},
		Events: ev, Cache: c, CacheTTL: time.Hour,
	})
	acct, err := svc.Register(ctx, users.RegisterInput{Username: "alice", Email: "alice@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := tokens.Verify(acct.Token)
	if err != nil {
		t.Fatal(err)
	}

	resolve := func() (*conduit.User, int64) {
		t.Helper()
		before := queries.Load()
		u, err := svc.Resolve(ctx, id)
		if err != nil {
			t.Fatalf("resolve: %v", err)
		}
		return u, queries.Load() - before
	}
	u, n := resolve()
	if n == 0 {
		t.Fatal("the first resolve sent no query: the counter does not see the database")
	}
	if u.Username != "alice" || u.ID != id {
		t.Fatalf("resolved %+v, want alice (%d)", u, id)
	}
	if u, n = resolve(); n != 0 || u.Username != "alice" {
		t.Fatalf("second resolve: %d queries, user %q; want 0 and alice", n, u.Username)
	}
	cached, found, err := cache.Of[conduit.User](c).Get(ctx, "account:"+strconv.FormatInt(id, 10))
	if err != nil || !found {
		t.Fatalf("the account is not in the cache (found %v, err %v)", found, err)
	}
	if cached.PasswordHash != "" || u.PasswordHash != "" {
		t.Fatal("the password hash was cached")
	}
	// Logging in reads its own row, hash included.
	if _, err := svc.Login(ctx, users.LoginInput{Email: "alice@example.com", Password: "correct horse"}); err != nil {
		t.Fatalf("login after a cached resolve: %v", err)
	}

	bio := "changed"
	if _, err := svc.Update(ctx, id, users.UpdateInput{Bio: &bio}); err != nil {
		t.Fatal(err)
	}
	if u, n = resolve(); n == 0 || u.Bio != "changed" {
		t.Fatalf("resolve after an update: %d queries, bio %q; want a query and the new bio", n, u.Bio)
	}

	missing := id + 1000
	for range 2 {
		before := queries.Load()
		_, err := svc.Resolve(ctx, missing)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unauthorized {
			t.Fatalf("resolve of a missing user: %v, want Unauthorized", err)
		}
		if queries.Load() == before {
			t.Fatal("a failed resolve was cached: the second one sent no query")
		}
	}
}
