// Package comments is the comment thread under an article: reading it, adding to it, and
// deleting one's own comments.
package comments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/validate"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// MaxBody is the longest comment, in characters.
const MaxBody = 10_000

// Service owns the comment rules.
type Service struct {
	db       *bun.DB
	articles conduit.Articles
	comments conduit.Comments
	now      func() time.Time
	events   *conduit.Events
}

// Deps is what the comment service is built from. DB is required.
type Deps struct {
	DB     *bun.DB
	Now    func() time.Time // the clock; time.Now when nil
	Events *conduit.Events  // receives comment added and deleted (nil: no listeners)
}

// NewService returns the comment service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Events == nil {
		d.Events = conduit.NoEvents()
	}
	return &Service{db: d.DB, now: d.Now, events: d.Events}
}

func (s *Service) article(ctx context.Context, db bun.IDB, slug string) (*conduit.Article, error) {
	a, err := s.articles.FindBySlug(ctx, db, slug)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, apperr.NotFoundf("article")
	}
	if err != nil {
		return nil, fmt.Errorf("find article: %w", err)
	}
	return a, nil
}

// List returns the article's comments, oldest first, as viewerID (0: anonymous) sees them.
func (s *Service) List(ctx context.Context, slug string, viewerID int64) ([]conduit.CommentView, error) {
	a, err := s.article(ctx, s.db, slug)
	if err != nil {
		return nil, err
	}
	views, err := s.comments.ForArticle(ctx, s.db, a.ID, viewerID)
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	return views, nil
}

// Add posts a comment by authorID under the article.
func (s *Service) Add(ctx context.Context, authorID int64, slug, body string) (*conduit.CommentView, error) {
	p := apperr.Problems{}
	validate.Required(p, "body", body, MaxBody)
	if err := p.Err(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	c := &conduit.Comment{AuthorID: authorID, Body: body, CreatedAt: now, UpdatedAt: now}
	err := conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.article(ctx, tx, slug)
		if err != nil {
			return err
		}
		c.ArticleID = a.ID
		if err := s.comments.Create(ctx, tx, c); err != nil {
			return err
		}
		return s.events.CommentAdded.Dispatch(ctx, conduit.CommentAdded{CommentID: c.ID, ArticleID: a.ID, AuthorID: authorID})
	})
	if err != nil {
		return nil, fmt.Errorf("add comment: %w", err)
	}
	v, err := s.comments.View(ctx, s.db, c.ID, authorID)
	if errors.Is(err, repository.ErrNotFound) {
		return nil, apperr.NotFoundf("comment")
	}
	if err != nil {
		return nil, fmt.Errorf("read comment: %w", err)
	}
	return v, nil
}

// Delete removes comment id from the article; only its author may.
func (s *Service) Delete(ctx context.Context, userID int64, slug string, id int64) error {
	err := conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		a, err := s.article(ctx, tx, slug)
		if err != nil {
			return err
		}
		c, err := s.comments.FindByID(ctx, tx, id)
		if errors.Is(err, repository.ErrNotFound) || (err == nil && c.ArticleID != a.ID) {
			return apperr.NotFoundf("comment")
		}
		if err != nil {
			return err
		}
		if c.AuthorID != userID {
			return apperr.New(apperr.Forbidden, "comment", "can only be deleted by its author")
		}
		if err := s.comments.Delete(ctx, tx, c.ID); err != nil {
			return err
		}
		return s.events.CommentDeleted.Dispatch(ctx, conduit.CommentDeleted{CommentID: c.ID, ArticleID: a.ID, AuthorID: c.AuthorID})
	})
	if err != nil {
		return fmt.Errorf("delete comment: %w", err)
	}
	return nil
}
