package conduit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/brisk-go/brisk/libs/data/repository"
)

// Users reaches the users table: the generic operations plus lookups by natural key.
type Users struct {
	repository.Repository[User]
}

// FindByEmail returns the user with that (already lower-cased) email, or repository.ErrNotFound.
func (Users) FindByEmail(ctx context.Context, db bun.IDB, email string) (*User, error) {
	return findUser(ctx, db, "email", email)
}

// FindByUsername returns the user with that username, or repository.ErrNotFound.
func (Users) FindByUsername(ctx context.Context, db bun.IDB, username string) (*User, error) {
	return findUser(ctx, db, "username", username)
}

func findUser(ctx context.Context, db bun.IDB, column, value string) (*User, error) {
	u := new(User)
	err := db.NewSelect().Model(u).Where("?TableAlias.? = ?", bun.Ident(column), value).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("find user by %s: %w", column, repository.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("find user by %s: %w", column, err)
	}
	return u, nil
}

// Taken reports, in one query, whether username or email already belong to a user other than
// exceptID (0 for none). An empty argument is never taken.
func (Users) Taken(ctx context.Context, db bun.IDB, username, email string, exceptID int64) (usernameTaken, emailTaken bool, err error) {
	var rows []struct {
		Username string `bun:"username"`
		Email    string `bun:"email"`
	}
	err = db.NewSelect().TableExpr("users AS u").
		ColumnExpr("u.username, u.email").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("u.username = ?", username).WhereOr("u.email = ?", email)
		}).
		Where("u.id <> ?", exceptID).
		Limit(2).
		Scan(ctx, &rows)
	if err != nil {
		return false, false, fmt.Errorf("check taken username/email: %w", err)
	}
	for _, r := range rows {
		usernameTaken = usernameTaken || (username != "" && r.Username == username)
		emailTaken = emailTaken || (email != "" && r.Email == email)
	}
	return usernameTaken, emailTaken, nil
}

// Profile returns the user named username as viewerID sees them (0: anonymous).
func (Users) Profile(ctx context.Context, db bun.IDB, username string, viewerID int64) (*ProfileView, error) {
	p := new(ProfileView)
	err := db.NewSelect().TableExpr("users AS u").
		ColumnExpr("u.id, u.username, u.bio, u.image").
		ColumnExpr("? AS following", followingExpr("u.id", viewerID)).
		Where("u.username = ?", username).
		Limit(1).
		Scan(ctx, p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("profile %q: %w", username, repository.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", username, err)
	}
	return p, nil
}

// followingExpr is "does viewerID follow the user in column authorCol", as a SQL boolean.
// Anonymous viewers follow nobody, which needs no subquery.
func followingExpr(authorCol string, viewerID int64) schema.QueryWithArgs {
	if viewerID == 0 {
		return bun.SafeQuery("FALSE")
	}
	return bun.SafeQuery("EXISTS (SELECT 1 FROM follows AS fo WHERE fo.followee_id = "+authorCol+" AND fo.follower_id = ?)", viewerID)
}

// Follows reaches the follows table.
type Follows struct{}

// Add records f; it is a no-op when the follow already exists.
func (Follows) Add(ctx context.Context, db bun.IDB, f *Follow) error {
	if _, err := db.NewInsert().Model(f).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	return nil
}

// Remove makes followerID stop following followeeID; it is a no-op when it did not.
func (Follows) Remove(ctx context.Context, db bun.IDB, followerID, followeeID int64) error {
	_, err := db.NewDelete().Model((*Follow)(nil)).
		Where("follower_id = ?", followerID).
		Where("followee_id = ?", followeeID).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("unfollow: %w", err)
	}
	return nil
}
