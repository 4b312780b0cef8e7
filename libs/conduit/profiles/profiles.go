// Package profiles is the public side of users: reading a profile and following or
// unfollowing its owner.
package profiles

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// Service owns the follow rules.
type Service struct {
	db      *bun.DB
	users   conduit.Users
	follows conduit.Follows
	now     func() time.Time
	events  *conduit.Events

	cache    *cache.Cache // nil: no caching
	ttl      time.Duration
	profiles cache.Typed[conduit.ProfileView]
}

// Deps is what the profile service is built from. DB is required.
type Deps struct {
	DB  *bun.DB
	Now func() time.Time // the clock; time.Now when nil
	// Cache, when set, keeps profiles as anonymous readers see them (following is false for
	// them, so following and unfollowing change nothing cached) for CacheTTL (default one
	// minute); the user service flushes a profile when its owner changes it (tag "user:<id>").
	Cache    *cache.Cache
	CacheTTL time.Duration
	// Events receives follow and unfollow, raised in their transaction (nil: no listeners).
	Events *conduit.Events
}

// NewService returns the profile service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Events == nil {
		d.Events = conduit.NoEvents()
	}
	s := &Service{db: d.DB, now: d.Now, events: d.Events}
	if d.Cache != nil {
		if d.CacheTTL <= 0 {
			d.CacheTTL = time.Minute
		}
		s.cache, s.ttl, s.profiles = d.Cache, d.CacheTTL, cache.Of[conduit.ProfileView](d.Cache)
	}
	return s
}

// Get returns username's profile as viewerID (0: anonymous) sees it.
func (s *Service) Get(ctx context.Context, username string, viewerID int64) (*conduit.ProfileView, error) {
	if viewerID == 0 && s.cache != nil {
		v, err := s.profiles.RememberTagged(ctx, "profile:"+username, s.ttl, func(ctx context.Context) (conduit.ProfileView, []string, error) {
			p, err := s.profile(ctx, s.db, username, 0)
			if err != nil {
				return conduit.ProfileView{}, nil, err
			}
			return *p, []string{conduit.UserTag(p.ID)}, nil
		})
		if err != nil {
			return nil, err
		}
		return &v, nil
	}
	return s.profile(ctx, s.db, username, viewerID)
}

func (s *Service) profile(ctx context.Context, db bun.IDB, username string, viewerID int64) (*conduit.ProfileView, error) {
	p, err := s.users.Profile(ctx, db, username, viewerID)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, apperr.NotFoundf("profile")
	}
	if err != nil {
		return nil, fmt.Errorf("get profile: %w", err)
	}
	return p, nil
}

// Follow makes viewerID follow username; following twice is not an error.
func (s *Service) Follow(ctx context.Context, viewerID int64, username string) (*conduit.ProfileView, error) {
	return s.setFollow(ctx, viewerID, username, true)
}

// Unfollow makes viewerID stop following username; unfollowing twice is not an error.
func (s *Service) Unfollow(ctx context.Context, viewerID int64, username string) (*conduit.ProfileView, error) {
	return s.setFollow(ctx, viewerID, username, false)
}

func (s *Service) setFollow(ctx context.Context, viewerID int64, username string, follow bool) (*conduit.ProfileView, error) {
	var view *conduit.ProfileView
	err := conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		target, err := s.profile(ctx, tx, username, viewerID)
		if err != nil {
			return err
		}
		if target.ID == viewerID {
			return apperr.New(apperr.Invalid, "username", "cannot follow yourself")
		}
		if follow {
			err = s.follows.Add(ctx, tx, &conduit.Follow{FollowerID: viewerID, FolloweeID: target.ID, CreatedAt: s.now().UTC()})
		} else {
			err = s.follows.Remove(ctx, tx, viewerID, target.ID)
		}
		if err != nil {
			return err
		}
		target.Following = follow
		view = target
		ev := conduit.UserFollowed{FollowerID: viewerID, FolloweeID: target.ID}
		if follow {
			return s.events.UserFollowed.Dispatch(ctx, ev)
		}
		return s.events.UserUnfollowed.Dispatch(ctx, conduit.UserUnfollowed(ev))
	})
	if err != nil {
		return nil, fmt.Errorf("follow %q: %w", username, err)
	}
	return view, nil
}
