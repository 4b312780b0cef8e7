package conduit

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// PageForArticle returns up to limit of the article's comments from offset, oldest first, as
// viewerID sees them, and how many comments the article has in all.
func (Comments) PageForArticle(ctx context.Context, db bun.IDB, articleID, viewerID int64, limit, offset int) ([]CommentView, int, error) {
	views := []CommentView{}
	err := commentViewQuery(db, viewerID).
		Where("c.article_id = ?", articleID).
		OrderExpr("c.id ASC").
		Limit(int64(limit)).Offset(int64(offset)).
		Scan(ctx, &views)
	if err != nil {
		return nil, 0, fmt.Errorf("comments of article %d: %w", articleID, err)
	}
	total := len(views) + offset
	if len(views) == limit || (len(views) == 0 && offset > 0) {
		// Only a full (or overshot) page leaves the total unknown.
		n, err := db.NewSelect().TableExpr("comments").Where("article_id = ?", articleID).Count(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("count comments of article %d: %w", articleID, err)
		}
		total = int(n)
	}
	return views, total, nil
}
