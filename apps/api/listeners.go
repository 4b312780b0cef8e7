package main

import (
	"context"
	"log/slog"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/listeners"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/jobs"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
	"github.com/brisk-go/brisk/libs/startup"
)

// domainEvents makes the Conduit events' dispatchers: async listeners run on the API's
// goroutine pool, every listener gets the CONTEXT_* deadline rules, and each dispatch and
// listener run is counted on /metrics (perfcore.events.*).
func domainEvents(cfg *config.Config, log *slog.Logger, workers *pool.Pool) (*conduit.Events, error) {
	return conduit.NewEvents(startup.EventsConfig(cfg, log, workers))
}

// registerListeners is everything the API's writes cause, in one place: their jobs in the
// same transaction, cache invalidation after the commit, and cache warming on the pool.
func registerListeners(ev *conduit.Events, queue *jobs.Queue, c *cache.Cache, svc *services.Set) error {
	return listeners.Register(ev, listeners.Deps{
		Queue: queue,
		Cache: c,
		Warm: func(ctx context.Context, slug string) error {
			_, err := svc.Articles.Get(ctx, slug, 0)
			if apperr.CodeOf(err) == apperr.NotFound {
				return nil // deleted since: nothing to warm
			}
			return err
		},
	})
}
