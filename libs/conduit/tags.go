package conduit

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Tags reaches the tags and article_tags tables.
type Tags struct{}

// Attach links the article to the named tags, creating the tags that do not exist yet.
// names must be distinct. It costs three statements whatever the number of tags.
func (Tags) Attach(ctx context.Context, db bun.IDB, articleID int64, names []string) error {
	if len(names) == 0 {
		return nil
	}
	tags := make([]Tag, len(names))
	for i, n := range names {
		tags[i].Name = n
	}
	// Returning("NULL") because rows skipped by DO NOTHING return nothing to scan.
	if _, err := db.NewInsert().Model(&tags).On("CONFLICT (name) DO NOTHING").Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("create tags: %w", err)
	}
	var ids []int64
	if err := db.NewSelect().Model((*Tag)(nil)).Column("id").Where("name IN (?)", bun.List(names)).Scan(ctx, &ids); err != nil {
		return fmt.Errorf("find tags: %w", err)
	}
	links := make([]ArticleTag, len(ids))
	for i, id := range ids {
		links[i] = ArticleTag{ArticleID: articleID, TagID: id}
	}
	if _, err := db.NewInsert().Model(&links).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("tag article %d: %w", articleID, err)
	}
	return nil
}

// Detach removes every tag from the article (the tags themselves stay).
func (Tags) Detach(ctx context.Context, db bun.IDB, articleID int64) error {
	if _, err := db.NewDelete().Model((*ArticleTag)(nil)).Where("article_id = ?", articleID).Exec(ctx); err != nil {
		return fmt.Errorf("untag article %d: %w", articleID, err)
	}
	return nil
}

// ForArticles returns the tag names of each article, sorted by name, in one query.
func (Tags) ForArticles(ctx context.Context, db bun.IDB, articleIDs []int64) (map[int64][]string, error) {
	out := make(map[int64][]string, len(articleIDs))
	if len(articleIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ArticleID int64  `bun:"article_id"`
		Name      string `bun:"name"`
	}
	err := db.NewSelect().TableExpr("article_tags AS at").
		Join("JOIN tags AS t ON t.id = at.tag_id").
		ColumnExpr("at.article_id, t.name").
		Where("at.article_id IN (?)", bun.List(articleIDs)).
		OrderExpr("at.article_id, t.name").
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("tags of articles: %w", err)
	}
	for _, r := range rows {
		out[r.ArticleID] = append(out[r.ArticleID], r.Name)
	}
	return out, nil
}

// InUse returns the names of the tags at least one article carries, sorted.
func (Tags) InUse(ctx context.Context, db bun.IDB) ([]string, error) {
	names := []string{}
	err := db.NewSelect().TableExpr("tags AS t").
		ColumnExpr("t.name").
		Where("EXISTS (SELECT 1 FROM article_tags AS at WHERE at.tag_id = t.id)").
		OrderExpr("t.name").
		Scan(ctx, &names)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	return names, nil
}
