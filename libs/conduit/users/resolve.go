package users

import (
	"context"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// Resolve finds the account userID (taken from a validly signed token) names: an Unauthorized
// error ("token is invalid") when it is gone, the database's error otherwise. The HTTP layer
// calls it once per authenticated request, so a token that outlived its user is a 401 on
// every route rather than a foreign-key failure on the writes, and GET /api/user needs no
// second find.
func (s *Service) Resolve(ctx context.Context, userID int64) (*conduit.User, error) {
	return s.find(ctx, s.db, userID)
}

// AccountOf is the account of a resolved user, with a fresh token.
func (s *Service) AccountOf(u *conduit.User) (Account, error) {
	if u == nil {
		return Account{}, apperr.New(apperr.Unauthorized, "token", "is missing")
	}
	return s.account(u)
}
