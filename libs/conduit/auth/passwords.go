package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// Passwords hashes and checks passwords with bcrypt at Cost (bcrypt.DefaultCost when 0).
// Tests and seeding use bcrypt.MinCost: the cost is stored in each hash, so hashes made at
// any cost keep verifying.
//
// bcrypt costs tens of milliseconds of CPU a call. With Pool set, every hash and check runs as
// a task of that bounded pool: a flood of logins can use at most its workers' CPU, never every
// core the other requests need, and a check (a login) is taken before a hash (a registration
// or password change). A pool that refuses work when its queue is full (pool.FailFast) makes
// a flood answer 503 with Retry-After at once instead of queueing into the request's deadline.
type Passwords struct {
	Cost int
	Pool *pool.Pool
}

// busyRetryAfter is what a client refused by a full pool is told to wait.
const busyRetryAfter = time.Second

// onPool runs fn on p.Pool at prio, or inline without a pool.
func onPool[T any](ctx context.Context, p Passwords, prio pool.Priority, fn func() (T, error)) (T, error) {
	if p.Pool == nil {
		return fn()
	}
	v, err := pool.Submit(ctx, p.Pool, func(context.Context) (T, error) { return fn() }, prio).Await(ctx)
	if errors.Is(err, pool.ErrQueueFull) {
		e := apperr.Wrap(apperr.Unavailable, "server", "is busy, try again shortly", err)
		e.RetryAfter = busyRetryAfter
		return v, e
	}
	return v, err
}

// Hash returns the bcrypt hash of password, computed on the pool at normal priority.
func (p Passwords) Hash(ctx context.Context, password string) (string, error) {
	return onPool(ctx, p, pool.Normal, func() (string, error) { return p.hash(password) })
}

// Check reports whether password matches hash, computed on the pool at high priority (a
// login outranks a registration). A malformed hash is an error; a wrong password is
// (false, nil).
func (p Passwords) Check(ctx context.Context, hash, password string) (bool, error) {
	return onPool(ctx, p, pool.High, func() (bool, error) { return p.check(hash, password) })
}

// hash returns the bcrypt hash of password. Passwords over bcrypt's 72-byte limit are an
// error rather than silently truncated.
func (p Passwords) hash(password string) (string, error) {
	cost := p.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

func (p Passwords) check(hash, password string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("auth: check password: %w", err)
	}
}
