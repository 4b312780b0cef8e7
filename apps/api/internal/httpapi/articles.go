package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/articles"
)

type articleEnvelope struct {
	Article articleJSON `json:"article"`
}

type articlesEnvelope struct {
	Articles      []articleJSON `json:"articles"`
	ArticlesCount int           `json:"articlesCount"`
}

func (h *handlers) writeArticle(c *gin.Context, status int, a *conduit.ArticleView, err error) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.json(c, status, articleEnvelope{Article: articleOf(a, true)})
}

func (h *handlers) writeArticles(c *gin.Context, p articles.Page, err error) {
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := articlesEnvelope{Articles: make([]articleJSON, len(p.Articles)), ArticlesCount: p.Count}
	for i := range p.Articles {
		out.Articles[i] = articleOf(&p.Articles[i], false)
	}
	h.json(c, http.StatusOK, out)
}

// queryInt reads an optional integer query parameter. Values too large for an int are
// clamped (a huge limit or offset is a valid request), anything else non-numeric is a 422.
func queryInt(c *gin.Context, name string, p apperr.Problems) *int {
	raw, ok := c.GetQuery(name)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(raw, 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		n, err = math.MaxInt32, nil
		if raw[0] == '-' {
			n = math.MinInt32
		}
	}
	if err != nil {
		p.Add(name, "must be an integer")
		return nil
	}
	v := int(n)
	return &v
}

func listInput(c *gin.Context) (articles.ListInput, error) {
	p := apperr.Problems{}
	in := articles.ListInput{
		Filter: conduit.ArticleFilter{
			Tag:         c.Query("tag"),
			Author:      c.Query("author"),
			FavoritedBy: c.Query("favorited"),
		},
		Limit:    queryInt(c, "limit", p),
		Offset:   queryInt(c, "offset", p),
		ViewerID: viewer(c),
	}
	return in, p.Err()
}

func (h *handlers) listArticles(c *gin.Context) {
	in, err := listInput(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	p, err := h.articles.List(c.Request.Context(), in)
	h.writeArticles(c, p, err)
}

func (h *handlers) feed(c *gin.Context) {
	in, err := listInput(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	p, err := h.articles.Feed(c.Request.Context(), in)
	h.writeArticles(c, p, err)
}

func (h *handlers) getArticle(c *gin.Context) {
	if viewer(c) == 0 {
		// What every anonymous reader gets alike: its encoding is cached with the view.
		b, err := h.articles.Rendered(c.Request.Context(), c.Param("slug"), "json", h.renderArticle)
		if err != nil {
			_ = c.Error(err)
			return
		}
		c.Data(http.StatusOK, jsonContentType[0], b)
		return
	}
	a, err := h.articles.Get(c.Request.Context(), c.Param("slug"), viewer(c))
	h.writeArticle(c, http.StatusOK, a, err)
}

// renderArticle encodes a's response body as writeArticle writes it.
func (h *handlers) renderArticle(a *conduit.ArticleView) ([]byte, error) {
	return h.encode(articleEnvelope{Article: articleOf(a, true)})
}

func (h *handlers) createArticle(c *gin.Context) {
	var req struct {
		Article struct {
			Title       string   `json:"title"`
			Description string   `json:"description"`
			Body        string   `json:"body"`
			TagList     []string `json:"tagList"`
		} `json:"article"`
	}
	if err := decode(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	a, err := h.articles.Create(c.Request.Context(), viewer(c), articles.CreateInput(req.Article))
	h.writeArticle(c, http.StatusCreated, a, err)
}

func (h *handlers) updateArticle(c *gin.Context) {
	var req struct {
		Article struct {
			Title       *string   `json:"title"`
			Description *string   `json:"description"`
			Body        *string   `json:"body"`
			TagList     *[]string `json:"tagList"`
		} `json:"article"`
	}
	if err := decode(c, &req); err != nil {
		_ = c.Error(err)
		return
	}
	a, err := h.articles.Update(c.Request.Context(), viewer(c), c.Param("slug"), articles.UpdateInput(req.Article))
	h.writeArticle(c, http.StatusOK, a, err)
}

func (h *handlers) deleteArticle(c *gin.Context) {
	if err := h.articles.Delete(c.Request.Context(), viewer(c), c.Param("slug")); err != nil {
		_ = c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) favorite(c *gin.Context) {
	a, err := h.articles.Favorite(c.Request.Context(), viewer(c), c.Param("slug"))
	h.writeArticle(c, http.StatusOK, a, err)
}

func (h *handlers) unfavorite(c *gin.Context) {
	a, err := h.articles.Unfavorite(c.Request.Context(), viewer(c), c.Param("slug"))
	h.writeArticle(c, http.StatusOK, a, err)
}

func (h *handlers) tags(c *gin.Context) {
	tags, err := h.articles.Tags(c.Request.Context())
	if err != nil {
		_ = c.Error(err)
		return
	}
	h.json(c, http.StatusOK, gin.H{"tags": tags})
}
