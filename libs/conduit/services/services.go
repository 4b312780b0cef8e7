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
	// CPU, when set, runs password hashing and checks (see auth.Passwords); nil: inline.
	CPU *pool.Pool
	Now func() time.Time // the clock; time.Now when nil

	// Optional.
	// UserFinder finds users by id, batching concurrent finds when switched on; nil: one with
	// batching off.
	UserFinder *repository.Finder[conduit.User]
	// Events receives the domain's events; the app registers its listeners on it (package
	// listeners: jobs in the transaction, cache invalidation after it commits). Nil: none.
	Events *conduit.Events
	// Cache, when set, serves anonymous reads of articles, profiles and the tag list, and the
	// account each authenticated request resolves (the events' after-commit listeners
	// invalidate what writes change). CacheTTL bounds an
	// entry's life (default one minute).
	Cache    *cache.Cache
	CacheTTL time.Duration
	// Pool, when set, runs each article listing's count query while its page query runs,
	// whenever ParallelNow (nil: always) says so.
	Pool        *pool.Pool
	ParallelNow func() bool
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
	if d.Events == nil {
		d.Events = conduit.NoEvents()
	}
	if d.UserFinder == nil {
		if d.UserFinder, err = repository.NewFinder[conduit.User](d.DB, repository.FinderOptions{}); err != nil {
			return nil, err
		}
	}
	return &Set{
		Tokens: tokens,
		Users: users.NewService(users.Deps{
			DB: d.DB, Tokens: tokens, Passwords: auth.Passwords{Cost: d.PasswordCost, Pool: d.CPU}, Now: d.Now,
			Finder: d.UserFinder, Events: d.Events, Cache: d.Cache, CacheTTL: d.CacheTTL,
		}),
		Profiles: profiles.NewService(profiles.Deps{DB: d.DB, Now: d.Now, Cache: d.Cache, CacheTTL: d.CacheTTL, Events: d.Events}),
		Articles: articles.NewService(articles.Deps{
			DB: d.DB, Now: d.Now, Cache: d.Cache, CacheTTL: d.CacheTTL, Events: d.Events, Pool: d.Pool, ParallelNow: d.ParallelNow,
		}),
		Comments: comments.NewService(comments.Deps{DB: d.DB, Now: d.Now, Events: d.Events}),
	}, nil
}
