package repository_test

import (
	"time"

	"github.com/uptrace/bun"
)

// The tests' models: the shape of an account table and a link table with foreign keys, the two
// kinds of row every repository meets. They map onto the users and follows tables of the
// migrated test schema (datatest), so the tests need no domain package.

type testUser struct {
	bun.BaseModel `bun:"table:users,alias:u"`

	ID           int64     `bun:"id,pk,autoincrement"`
	Username     string    `bun:"username,notnull"`
	Email        string    `bun:"email,notnull"`
	PasswordHash string    `bun:"password_hash,notnull"`
	Bio          string    `bun:"bio,notnull"`
	Image        string    `bun:"image,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

type testFollow struct {
	bun.BaseModel `bun:"table:follows,alias:fo"`

	FollowerID int64     `bun:"follower_id,pk"`
	FolloweeID int64     `bun:"followee_id,pk"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}
