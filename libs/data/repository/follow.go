package repository

import "github.com/brisk-go/brisk/libs/perfcore/optimizer"

// LevelSource is the part of the optimizer that batching follows (*optimizer.Optimizer).
type LevelSource interface {
	Level() optimizer.Level
	Subscribe(fn func(from, to optimizer.Level)) (unsubscribe func())
}

// Switch is anything batching can be turned on and off on, such as a Finder.
type Switch interface{ SetEnabled(on bool) }

// BatchingAt reports whether finds are batched at level l. Below Aggressive the database has
// room for one query per find and a batch would only add bookkeeping; from Aggressive up,
// round trips and connections are what run short, and coalescing saves both.
func BatchingAt(l optimizer.Level) bool { return l >= optimizer.Aggressive }

// FollowOptimizer sets every switch from src's current level now and again on every level
// change, until the returned stop is called.
func FollowOptimizer(src LevelSource, switches ...Switch) (stop func()) {
	set := func(l optimizer.Level) {
		on := BatchingAt(l)
		for _, s := range switches {
			s.SetEnabled(on)
		}
	}
	unsubscribe := src.Subscribe(func(_, to optimizer.Level) { set(to) })
	set(src.Level())
	return unsubscribe
}
