package httpapi

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/apps/api/internal/throttle"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/users"
)

// LoginThrottle limits failed logins per account (email) and per client address in a fixed
// window. A key at its limit is answered 429 with Retry-After, even with the right password,
// until its window ends; a success clears the account's count (not the address's).
type LoginThrottle struct {
	Store      throttle.Store
	PerAccount int           // failures per window for one email; 0: unlimited
	PerAddress int           // failures per window from one client address; 0: unlimited
	Window     time.Duration // how long failures count
	Logger     *slog.Logger
}

type loginKeys struct{ account, address string }

func keysOf(c *gin.Context, email string) loginKeys {
	// The peer's address, not X-Forwarded-For: a header the client writes cannot be the key
	// that limits it.
	return loginKeys{account: "login:account:" + users.NormalizeEmail(email), address: "login:address:" + c.RemoteIP()}
}

// admit answers 429 and returns false when either key is at its limit. The store failing
// admits the attempt: logging in stays possible while Redis is away.
func (t *LoginThrottle) admit(c *gin.Context, k loginKeys) bool {
	if t == nil || t.Store == nil {
		return true
	}
	ctx := c.Request.Context()
	var wait time.Duration
	for _, check := range []struct {
		key   string
		limit int
	}{{k.account, t.PerAccount}, {k.address, t.PerAddress}} {
		if check.limit <= 0 {
			continue
		}
		d, err := t.Store.Blocked(ctx, check.key, check.limit)
		if err != nil {
			t.log().WarnContext(ctx, "login throttle unavailable: attempt admitted", "err", err)
			return true
		}
		wait = max(wait, d)
	}
	if wait <= 0 {
		return true
	}
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeError(c, http.StatusTooManyRequests, map[string][]string{"login": {"too many failed attempts, try again later"}})
	return false
}

// record counts a failed login against both keys, or clears the account's count after a
// success.
func (t *LoginThrottle) record(c *gin.Context, k loginKeys, err error) {
	if t == nil || t.Store == nil {
		return
	}
	ctx := context.WithoutCancel(c.Request.Context())
	var serr error
	switch {
	case err == nil:
		serr = t.Store.Reset(ctx, k.account)
	case apperr.CodeOf(err) == apperr.Unauthorized:
		if t.PerAccount > 0 {
			serr = t.Store.Fail(ctx, k.account, t.Window)
		}
		if t.PerAddress > 0 && serr == nil {
			serr = t.Store.Fail(ctx, k.address, t.Window)
		}
	}
	if serr != nil {
		t.log().WarnContext(ctx, "login throttle could not count an attempt", "err", serr)
	}
}

func (t *LoginThrottle) log() *slog.Logger {
	if t.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Logger
}
