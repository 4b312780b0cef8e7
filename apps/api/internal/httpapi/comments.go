package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/comments"
)

type commentEnvelope struct {
	Comment commentJSON `json:"comment"`
}

// commentsEnvelope is the spec's {"comments": [...]} plus the thread's length, as the
// article list has articlesCount: clients page with ?limit=&offset=.
type commentsEnvelope struct {
	Comments      []commentJSON `json:"comments"`
	CommentsCount int           `json:"commentsCount"`
}

func (h *handlers) listComments(c *gin.Context) {
	p := apperr.Problems{}
	in := comments.PageInput{Limit: queryInt(c, "limit", p), Offset: queryInt(c, "offset", p)}
	if err := p.Err(); err != nil {
		_ = c.Error(err)
		return
	}
	page, err := h.comments.ListPage(c.Request.Context(), c.Param("slug"), viewer(c), in)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := commentsEnvelope{Comments: make([]commentJSON, len(page.Comments)), CommentsCount: page.Total}
	for i := range page.Comments {
		out.Comments[i] = commentOf(&page.Comments[i])
	}
	h.json(c, http.StatusOK, out)
}

func (h *handlers) addComment(c *gin.Context) {
	var req struct {
		Comment struct {
			Body string `json:"body"`
		} `json:"comment"`
	}
	if err := decode(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	v, err := h.comments.Add(c.Request.Context(), viewer(c), c.Param("slug"), req.Comment.Body)
	if err != nil {
		_ = c.Error(err)
		return
	}
	// The spec answers 200 here, not 201.
	h.json(c, http.StatusOK, commentEnvelope{Comment: commentOf(v)})
}

func (h *handlers) deleteComment(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		_ = c.Error(apperr.New(apperr.Invalid, "id", "must be a positive integer"))
		return
	}
	if err := h.comments.Delete(c.Request.Context(), viewer(c), c.Param("slug"), id); err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}
