package users

import (
	"context"
	"strconv"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// Resolve finds the account userID (taken from a validly signed token) names: an Unauthorized
// error ("token is invalid") when it is gone, the database's error otherwise. The HTTP layer
// calls it once per authenticated request, so a token that outlived its user is a 401 on
// every route rather than a foreign-key failure on the writes, and GET /api/user needs no
// second find. With a cache (Deps.Cache) a resolved account is kept, without its password
// hash, until its owner updates it or it expires; a failed find is never cached.
func (s *Service) Resolve(ctx context.Context, userID int64) (*conduit.User, error) {
	if s.accountTTL == 0 {
		return s.find(ctx, s.db, userID)
	}
	key := "account:" + strconv.FormatInt(userID, 10)
	u, err := s.accounts.RememberTagged(ctx, key, s.accountTTL, func(ctx context.Context) (conduit.User, []string, error) {
		u, err := s.find(ctx, s.db, userID)
		if err != nil {
			return conduit.User{}, nil, err
		}
		account := *u
		account.PasswordHash = ""
		return account, []string{conduit.UserTag(userID)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// AccountOf is the account of a resolved user, with a fresh token.
func (s *Service) AccountOf(u *conduit.User) (Account, error) {
	if u == nil {
		return Account{}, apperr.New(apperr.Unauthorized, "token", "is missing")
	}
	return s.account(u)
}
