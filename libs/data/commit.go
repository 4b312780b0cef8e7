package data

import (
	"context"

	"github.com/uptrace/bun"
)

type commitHooksKey struct{}

// CommitHook runs inside a transaction, just before it commits; an error rolls it back.
type CommitHook func(ctx context.Context, tx bun.Tx) error

// WithCommitHook returns ctx carrying hook as well as those ctx already carries. Code that
// runs transactions on such a context calls RunCommitHooks as the last step of each, so
// what the hook writes commits, or rolls back, with the change. The HTTP layer uses it to
// record, in the write's own transaction, that a request's change is saved.
func WithCommitHook(ctx context.Context, hook CommitHook) context.Context {
	prev, _ := ctx.Value(commitHooksKey{}).([]CommitHook)
	hooks := make([]CommitHook, len(prev), len(prev)+1)
	copy(hooks, prev)
	return context.WithValue(ctx, commitHooksKey{}, append(hooks, hook))
}

// RunCommitHooks runs the hooks ctx carries in tx, in the order they were added, and returns
// the first error.
func RunCommitHooks(ctx context.Context, tx bun.Tx) error {
	hooks, _ := ctx.Value(commitHooksKey{}).([]CommitHook)
	for _, h := range hooks {
		if err := h(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}
