package conduit

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data/repository"
)

// Comments reaches the comments table: the generic operations plus the thread of an article.
type Comments struct {
	repository.Repository[Comment]
}

func commentViewQuery(db bun.IDB, viewerID int64) *bun.SelectQuery {
	return db.NewSelect().TableExpr("comments AS c").
		Join("JOIN users AS u ON u.id = c.author_id").
		ColumnExpr("c.id, c.article_id, c.body, c.created_at, c.updated_at").
		ColumnExpr("u.id AS author_id, u.username AS author_username, u.bio AS author_bio, u.image AS author_image").
		ColumnExpr("? AS author_following", followingExpr("c.author_id", viewerID))
}

// ForArticle returns the article's comments, oldest first, as viewerID sees them: one query.
func (Comments) ForArticle(ctx context.Context, db bun.IDB, articleID, viewerID int64) ([]CommentView, error) {
	views := []CommentView{}
	err := commentViewQuery(db, viewerID).
		Where("c.article_id = ?", articleID).
		OrderExpr("c.id ASC").
		Scan(ctx, &views)
	if err != nil {
		return nil, fmt.Errorf("comments of article %d: %w", articleID, err)
	}
	return views, nil
}

// View returns one comment as viewerID sees it.
func (Comments) View(ctx context.Context, db bun.IDB, id, viewerID int64) (*CommentView, error) {
	views := make([]CommentView, 0, 1)
	if err := commentViewQuery(db, viewerID).Where("c.id = ?", id).Limit(1).Scan(ctx, &views); err != nil {
		return nil, fmt.Errorf("view comment %d: %w", id, err)
	}
	if len(views) == 0 {
		return nil, fmt.Errorf("view comment %d: %w", id, repository.ErrNotFound)
	}
	return &views[0], nil
}
