package comments

import (
	"context"
	"fmt"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
)

// Bounds on one page of a comment thread: a thread of thousands of long comments must not
// become one response of tens of megabytes (and as much memory per concurrent reader).
const (
	DefaultLimit = 100     // comments per page when the client names no limit
	MaxLimit     = 500     // the most a client may ask for; larger limits are clamped
	MaxPageBytes = 1 << 20 // comment bodies per page; the page ends early past it
)

// PageInput selects a page of a thread. Limit and Offset are nil when not given.
type PageInput struct {
	Limit  *int
	Offset *int
}

// Page is one page of a thread and the thread's length.
type Page struct {
	Comments []conduit.CommentView
	Total    int
}

// ListPage returns a page of the article's comments, oldest first, as viewerID (0: anonymous)
// sees them. The page holds at most the limit (default DefaultLimit, capped at MaxLimit) and
// stops early once its bodies pass MaxPageBytes, always holding at least one comment; the
// client goes on from offset + the number it got.
func (s *Service) ListPage(ctx context.Context, slug string, viewerID int64, in PageInput) (Page, error) {
	limit, offset := DefaultLimit, 0
	p := apperr.Problems{}
	if in.Limit != nil {
		if *in.Limit < 1 {
			p.Add("limit", "must be at least 1")
		} else {
			limit = min(*in.Limit, MaxLimit)
		}
	}
	if in.Offset != nil {
		if *in.Offset < 0 {
			p.Add("offset", "must not be negative")
		} else {
			offset = *in.Offset
		}
	}
	if err := p.Err(); err != nil {
		return Page{}, err
	}
	a, err := s.article(ctx, s.db, slug)
	if err != nil {
		return Page{}, err
	}
	views, total, err := s.comments.PageForArticle(ctx, s.db, a.ID, viewerID, limit, offset)
	if err != nil {
		return Page{}, fmt.Errorf("list comments: %w", err)
	}
	bytes := 0
	for i, v := range views {
		bytes += len(v.Body)
		if i > 0 && bytes > MaxPageBytes {
			views = views[:i]
			break
		}
	}
	return Page{Comments: views, Total: total}, nil
}
