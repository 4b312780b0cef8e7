// Package services builds the Conduit domain's services from parts the app has already made
// (database, cache, job queue, goroutine pool) and hands them back as one Set. It owns no
// resources: an app's run function opens everything, calls New, and passes the Set to its
// transports (the HTTP API, the worker's commands).
package services

import (
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/conduit/auth"
	"github.com/brisk-go/brisk/libs/conduit/comments"
	"github.com/brisk-go/brisk/libs/conduit/profiles"
	"github.com/brisk-go/brisk/libs/conduit/users"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// Deps are the finished parts the services use. DB and JWTSecret are required.
type Deps struct {
	DB        *bun.DB
	JWTSecret []byte
	TokenTTL  time.Duration
	// PasswordCost is the bcrypt cost; bcrypt.DefaultCost when 0 (tests use bcrypt.MinCost).
	PasswordCost int
	Now          func() time.Time // the clock; time.Now when nil

	// Optional.
	// UserFinder finds users by id, batching concurrent finds when switched on; nil: one with
	// batching off.
	UserFinder *repository.Finder[conduit.User]
	// Cache, when set, serves anonymous reads of articles, profiles and the tag list; writes
	// invalidate what they change. CacheTTL bounds an entry's life (default one minute).
	Cache    *cache.Cache
	CacheTTL time.Duration
	// Jobs, when set, receives the background jobs of article changes, in their transaction.
	Jobs articles.Jobs
	// Pool, when set, runs each article listing's count query while its page query runs.
	Pool *pool.Pool
}

// Set is the domain's services, ready to serve.
type Set struct {
	Tokens   *auth.Tokens
	Users    *users.Service
	Profiles *profiles.Service
	Articles *articles.Service
	Comments *comments.Service
}

// New builds every service from d.
func New(d Deps) (*Set, error) {
	if d.DB == nil {
		return nil, errors.New("services: no database")
	}
	tokens, err := auth.NewTokens(d.JWTSecret, d.TokenTTL, d.Now)
	if err != nil {
		return nil, err
	}
	if d.UserFinder == nil {
		if d.UserFinder, err = repository.NewFinder[conduit.User](d.DB, repository.FinderOptions{}); err != nil {
			return nil, err
		}
	}
	return &Set{
		Tokens: tokens,
		Users: users.NewService(users.Deps{
			DB: d.DB, Tokens: tokens, Passwords: auth.Passwords{Cost: d.PasswordCost}, Now: d.Now,
			Finder: d.UserFinder, Cache: d.Cache,
		}),
		Profiles: profiles.NewService(profiles.Deps{DB: d.DB, Now: d.Now, Cache: d.Cache, CacheTTL: d.CacheTTL}),
		Articles: articles.NewService(articles.Deps{
			DB: d.DB, Now: d.Now, Cache: d.Cache, CacheTTL: d.CacheTTL, Jobs: d.Jobs, Pool: d.Pool,
		}),
		Comments: comments.NewService(comments.Deps{DB: d.DB, Now: d.Now}),
	}, nil
}
