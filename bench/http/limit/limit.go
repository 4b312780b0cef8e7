// Package limit is the HTTP harness's yardstick: a hand-written gin + pgx server that serves
// the benchmarked RealWorld routes with the same response shapes as Brisk's API and does the
// same work per request (verify the JWT, look the viewer up, compute the following and
// favorited flags, gather the tags), with plain SQL, one round trip per request and no
// middleware. Brisk's figures are read as a ratio to it: what a careful hand-written server
// reaches on the same machine and database.
//
// The anonymous article route answers from JSON built once per slug and kept in memory: it
// stands for the best a cache can do, the bar for Brisk's cached article.
package limit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TokenTTL is the lifetime of the tokens GET /api/user hands out, the API's default (JWT_TTL).
const TokenTTL = 72 * time.Hour

type profileJSON struct {
	Username  string `json:"username"`
	Bio       string `json:"bio"`
	Image     string `json:"image"`
	Following bool   `json:"following"`
}

type articleJSON struct {
	Slug           string      `json:"slug"`
	Title          string      `json:"title"`
	Description    string      `json:"description"`
	Body           *string     `json:"body,omitempty"`
	TagList        []string    `json:"tagList"`
	CreatedAt      string      `json:"createdAt"`
	UpdatedAt      string      `json:"updatedAt"`
	Favorited      bool        `json:"favorited"`
	FavoritesCount int         `json:"favoritesCount"`
	Author         profileJSON `json:"author"`
}

type userJSON struct {
	Email    string `json:"email"`
	Token    string `json:"token"`
	Username string `json:"username"`
	Bio      string `json:"bio"`
	Image    string `json:"image"`
}

// Server holds the pool, the signing key and the per-slug static responses.
type Server struct {
	db     *pgxpool.Pool
	secret []byte
	parser *jwt.Parser
	static sync.Map // slug → []byte
}

// New returns a Server on db verifying and signing tokens with secret (HS256, as the API).
func New(db *pgxpool.Pool, secret []byte) *Server {
	return &Server{
		db:     db,
		secret: secret,
		parser: jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()),
	}
}

// Handler is the bare gin engine: no logging, no recovery, no deadline, only the routes.
func (s *Server) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/api/tags", s.tags)
	e.GET("/api/user", s.currentUser)
	e.GET("/api/profiles/:username", s.profile)
	e.GET("/api/articles", s.list)
	e.GET("/api/articles/feed", s.feed)
	e.GET("/api/articles/:slug", s.article)
	return e
}

func fail(c *gin.Context, status int, field, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"errors": gin.H{field: []string{msg}}})
}

func internal(c *gin.Context, err error) {
	_ = c.Error(err)
	fail(c, http.StatusInternalServerError, "server", err.Error())
}

// viewer returns the user id of the request's token, 0 without one; ok is false (and the
// response written) when a token was sent and is not valid.
func (s *Server) viewer(c *gin.Context) (int64, bool) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return 0, true
	}
	_, tok, _ := strings.Cut(h, " ")
	var claims jwt.RegisteredClaims
	if _, err := s.parser.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return s.secret, nil }); err != nil {
		fail(c, http.StatusUnauthorized, "token", "is invalid")
		return 0, false
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil || id <= 0 {
		fail(c, http.StatusUnauthorized, "token", "is invalid")
		return 0, false
	}
	return id, true
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) tags(c *gin.Context) {
	rows, err := s.db.Query(c, `SELECT name FROM tags ORDER BY name`)
	if err != nil {
		internal(c, err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		internal(c, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	c.JSON(http.StatusOK, gin.H{"tags": names})
}

func (s *Server) currentUser(c *gin.Context) {
	id, ok := s.viewer(c)
	if !ok {
		return
	}
	if id == 0 {
		fail(c, http.StatusUnauthorized, "token", "is missing")
		return
	}
	var u userJSON
	err := s.db.QueryRow(c, `SELECT email, username, bio, image FROM users WHERE id = $1`, id).
		Scan(&u.Email, &u.Username, &u.Bio, &u.Image)
	if errors.Is(err, pgx.ErrNoRows) {
		fail(c, http.StatusUnauthorized, "token", "is invalid")
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	now := time.Now()
	u.Token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   strconv.FormatInt(id, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(TokenTTL)),
	}).SignedString(s.secret)
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": u})
}

func (s *Server) profile(c *gin.Context) {
	id, ok := s.viewer(c)
	if !ok {
		return
	}
	var p profileJSON
	err := s.db.QueryRow(c, `SELECT u.username, u.bio, u.image,
		EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = u.id)
		FROM users u WHERE u.username = $1`, c.Param("username"), id).
		Scan(&p.Username, &p.Bio, &p.Image, &p.Following)
	if errors.Is(err, pgx.ErrNoRows) {
		fail(c, http.StatusNotFound, "profile", "not found")
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"profile": p})
}

// articleColumns reads one article as viewer $1 sees it, tags included, in the order scan
// expects.
const articleColumns = `a.slug, a.title, a.description, a.body, a.created_at, a.updated_at,
	a.favorites_count, u.username, u.bio, u.image,
	EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = a.author_id),
	EXISTS (SELECT 1 FROM favorites fv WHERE fv.user_id = $1 AND fv.article_id = a.id),
	COALESCE((SELECT array_agg(t.name ORDER BY t.name) FROM article_tags at
		JOIN tags t ON t.id = at.tag_id WHERE at.article_id = a.id), '{}')`

func scanArticle(row pgx.Row, withBody bool) (articleJSON, error) {
	var a articleJSON
	var body string
	var created, updated time.Time
	err := row.Scan(&a.Slug, &a.Title, &a.Description, &body, &created, &updated,
		&a.FavoritesCount, &a.Author.Username, &a.Author.Bio, &a.Author.Image,
		&a.Author.Following, &a.Favorited, &a.TagList)
	if err != nil {
		return a, fmt.Errorf("scan article: %w", err)
	}
	a.CreatedAt, a.UpdatedAt = stamp(created), stamp(updated)
	if withBody {
		a.Body = &body
	}
	return a, nil
}

// article answers anonymous readers from JSON built once per slug (the cache's best case) and
// signed-in readers from one query.
func (s *Server) article(c *gin.Context) {
	id, ok := s.viewer(c)
	if !ok {
		return
	}
	slug := c.Param("slug")
	if id == 0 {
		if b, ok := s.static.Load(slug); ok {
			c.Data(http.StatusOK, "application/json; charset=utf-8", b.([]byte))
			return
		}
	}
	a, err := scanArticle(s.db.QueryRow(c, `SELECT `+articleColumns+`
		FROM articles a JOIN users u ON u.id = a.author_id WHERE a.slug = $2`, id, slug), true)
	if errors.Is(err, pgx.ErrNoRows) {
		fail(c, http.StatusNotFound, "article", "not found")
		return
	}
	if err != nil {
		internal(c, err)
		return
	}
	if id == 0 {
		b, err := json.Marshal(gin.H{"article": a})
		if err != nil {
			internal(c, err)
			return
		}
		s.static.Store(slug, b)
		c.Data(http.StatusOK, "application/json; charset=utf-8", b)
		return
	}
	c.JSON(http.StatusOK, gin.H{"article": a})
}

func (s *Server) list(c *gin.Context) {
	s.page(c, false)
}

func (s *Server) feed(c *gin.Context) {
	s.page(c, true)
}

// page serves a listing or the feed: the page and the total count go to PostgreSQL in one
// batch (one round trip), the way a hand-tuned server would send them.
func (s *Server) page(c *gin.Context, feed bool) {
	id, ok := s.viewer(c)
	if !ok {
		return
	}
	if feed && id == 0 {
		fail(c, http.StatusUnauthorized, "token", "is missing")
		return
	}
	limit, offset := 20, 0
	if v, err := strconv.Atoi(c.DefaultQuery("limit", "20")); err == nil && v >= 0 && v <= 100 {
		limit = v
	}
	if v, err := strconv.Atoi(c.DefaultQuery("offset", "0")); err == nil && v >= 0 {
		offset = v
	}
	where, count := "", `SELECT count(*) FROM articles`
	if feed {
		where = `WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)`
		count = `SELECT count(*) FROM articles WHERE author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1)`
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+articleColumns+` FROM articles a JOIN users u ON u.id = a.author_id `+where+`
		ORDER BY a.created_at DESC, a.id DESC LIMIT $2 OFFSET $3`, id, limit, offset)
	if feed {
		b.Queue(count, id)
	} else {
		b.Queue(count)
	}
	res := s.db.SendBatch(c, b)
	out := struct {
		Articles      []articleJSON `json:"articles"`
		ArticlesCount int           `json:"articlesCount"`
	}{Articles: make([]articleJSON, 0, limit)}
	err := func() (err error) {
		defer func() { err = errors.Join(err, res.Close()) }()
		rows, err := res.Query()
		if err != nil {
			return fmt.Errorf("page: %w", err)
		}
		for rows.Next() {
			a, err := scanArticle(rows, false)
			if err != nil {
				rows.Close()
				return err
			}
			out.Articles = append(out.Articles, a)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("page: %w", err)
		}
		if err := res.QueryRow().Scan(&out.ArticlesCount); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		return nil
	}()
	if err != nil {
		internal(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// Serve runs the server on addr until ctx ends.
func (s *Server) Serve(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("limit server: %w", err)
	case <-ctx.Done():
		// ctx has ended: shut down within 5s of now, keeping ctx's values.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("limit server: shutdown: %w", err)
		}
		return nil
	}
}
