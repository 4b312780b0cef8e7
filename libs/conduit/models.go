package conduit

import (
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// UserTag names the cache tag of everything cached that shows user id (its profile, its
// articles, its resolved account): the after-commit listener of UserUpdated flushes it.
func UserTag(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// User is an account. Email is stored lower-cased; PasswordHash is a bcrypt hash.
type User struct {
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

// Follow records that FollowerID follows FolloweeID.
type Follow struct {
	bun.BaseModel `bun:"table:follows,alias:fo"`

	FollowerID int64     `bun:"follower_id,pk"`
	FolloweeID int64     `bun:"followee_id,pk"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// Article is a post. FavoritesCount mirrors the number of Favorite rows; it is changed only
// in the transaction that adds or removes one.
type Article struct {
	bun.BaseModel `bun:"table:articles,alias:a"`

	ID             int64     `bun:"id,pk,autoincrement"`
	Slug           string    `bun:"slug,notnull"`
	Title          string    `bun:"title,notnull"`
	Description    string    `bun:"description,notnull"`
	Body           string    `bun:"body,notnull"`
	AuthorID       int64     `bun:"author_id,notnull"`
	FavoritesCount int       `bun:"favorites_count,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
	UpdatedAt      time.Time `bun:"updated_at,notnull"`
}

// Tag is a distinct tag name shared by articles.
type Tag struct {
	bun.BaseModel `bun:"table:tags,alias:t"`

	ID   int64  `bun:"id,pk,autoincrement"`
	Name string `bun:"name,notnull"`
}

// ArticleTag links an article to one of its tags.
type ArticleTag struct {
	bun.BaseModel `bun:"table:article_tags,alias:at"`

	ArticleID int64 `bun:"article_id,pk"`
	TagID     int64 `bun:"tag_id,pk"`
}

// Favorite records that UserID favorited ArticleID.
type Favorite struct {
	bun.BaseModel `bun:"table:favorites,alias:f"`

	UserID    int64     `bun:"user_id,pk"`
	ArticleID int64     `bun:"article_id,pk"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// Comment is a reply on an article.
type Comment struct {
	bun.BaseModel `bun:"table:comments,alias:c"`

	ID        int64     `bun:"id,pk,autoincrement"`
	ArticleID int64     `bun:"article_id,notnull"`
	AuthorID  int64     `bun:"author_id,notnull"`
	Body      string    `bun:"body,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// ProfileView is a user as another user (the viewer) sees them.
type ProfileView struct {
	ID        int64  `bun:"id"`
	Username  string `bun:"username"`
	Bio       string `bun:"bio"`
	Image     string `bun:"image"`
	Following bool   `bun:"following"`
}

// ArticleView is an article with everything a listing shows for one viewer.
type ArticleView struct {
	ID             int64       `bun:"id"`
	Slug           string      `bun:"slug"`
	Title          string      `bun:"title"`
	Description    string      `bun:"description"`
	Body           string      `bun:"body"`
	CreatedAt      time.Time   `bun:"created_at"`
	UpdatedAt      time.Time   `bun:"updated_at"`
	FavoritesCount int         `bun:"favorites_count"`
	Favorited      bool        `bun:"favorited"`
	Author         ProfileView `bun:"embed:author_"`
	TagList        []string    `bun:"-"`
}

// CommentView is a comment with its author as the viewer sees them.
type CommentView struct {
	ID        int64       `bun:"id"`
	ArticleID int64       `bun:"article_id"`
	Body      string      `bun:"body"`
	CreatedAt time.Time   `bun:"created_at"`
	UpdatedAt time.Time   `bun:"updated_at"`
	Author    ProfileView `bun:"embed:author_"`
}
