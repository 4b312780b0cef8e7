package httpapi

import (
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/conduit/auth"
	"github.com/brisk-go/brisk/libs/conduit/comments"
	"github.com/brisk-go/brisk/libs/conduit/profiles"
	"github.com/brisk-go/brisk/libs/conduit/users"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/pool"
)

// DefaultMaxBodyBytes caps request bodies when Deps.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Deps is everything the API needs from the process that serves it.
type Deps struct {
	DB                 *bun.DB
	Logger             *slog.Logger
	JWTSecret          []byte
	TokenTTL           time.Duration
	CORSAllowedOrigins []string // "*" allows any origin
	MaxBodyBytes       int64    // 0: DefaultMaxBodyBytes

	// Optional.
	// Middleware runs first on every request, before recovery and the routes (telemetry:
	// it must see the final status and the whole latency).
	Middleware []gin.HandlerFunc
	// Deadlines bounds how long each request may run (zero: no deadline).
	Deadlines Deadlines
	// UserFinder finds users by id, batching concurrent finds when switched on; nil: one
	// with batching off.
	UserFinder *repository.Finder[conduit.User]
	// Cache, when set, serves anonymous reads of articles, profiles and the tag list; writes
	// invalidate what they change. CacheTTL bounds an entry's life (default one minute).
	Cache    *cache.Cache
	CacheTTL time.Duration
	// Pool, when set, runs each article listing's count query while its page query runs.
	Pool *pool.Pool
	// Jobs, when set, receives the background jobs of article changes, in their transaction.
	Jobs         articles.Jobs
	Now          func() time.Time // the clock; time.Now when nil
	PasswordCost int              // bcrypt cost; bcrypt.DefaultCost when 0 (tests use bcrypt.MinCost)
}

// New builds the gin engine serving the Conduit API under /api.
func New(d Deps) (*gin.Engine, error) {
	if d.DB == nil {
		return nil, errors.New("httpapi: no database")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	tokens, err := auth.NewTokens(d.JWTSecret, d.TokenTTL, d.Now)
	if err != nil {
		return nil, err
	}
	if d.UserFinder == nil {
		if d.UserFinder, err = repository.NewFinder[conduit.User](d.DB, repository.FinderOptions{}); err != nil {
			return nil, err
		}
	}
	h := &handlers{
		tokens:   tokens,
		users:    users.NewService(d.DB, tokens, auth.Passwords{Cost: d.PasswordCost}, d.Now),
		profiles: profiles.NewService(d.DB, d.Now),
		articles: articles.NewService(d.DB, d.Now),
		comments: comments.NewService(d.DB, d.Now),
	}
	h.users.UseFinder(d.UserFinder)
	if d.Cache != nil {
		ttl := d.CacheTTL
		if ttl <= 0 {
			ttl = time.Minute
		}
		h.articles.UseCache(d.Cache, ttl)
		h.profiles.UseCache(d.Cache, ttl)
		h.users.UseCache(d.Cache)
	}
	if d.Jobs != nil {
		h.articles.UseJobs(d.Jobs)
	}
	if d.Pool != nil {
		h.articles.UsePool(d.Pool)
	}

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// A redirect would turn a PUT or DELETE into a GET in many clients: unknown paths are 404s.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(d.Middleware...)
	e.Use(requestID, recovery(d.Logger), renderErrors(d.Logger), cors(d.CORSAllowedOrigins), deadline(d.Deadlines), limitBody(d.MaxBodyBytes), refuseNUL)
	e.NoRoute(func(c *gin.Context) { writeError(c, 404, map[string][]string{"route": {"not found"}}) })
	e.NoMethod(func(c *gin.Context) { writeError(c, 405, map[string][]string{"method": {"not allowed"}}) })

	api := e.Group("/api")
	need, may := h.requireUser, h.optionalUser

	api.POST("/users", h.register)
	api.POST("/users/login", h.login)
	api.GET("/user", need, h.currentUser)
	api.PUT("/user", need, h.updateUser)

	api.GET("/profiles/:username", may, h.getProfile)
	api.POST("/profiles/:username/follow", need, h.follow)
	api.DELETE("/profiles/:username/follow", need, h.unfollow)

	api.GET("/articles", may, h.listArticles)
	api.GET("/articles/feed", need, h.feed)
	api.POST("/articles", need, h.createArticle)
	api.GET("/articles/:slug", may, h.getArticle)
	api.PUT("/articles/:slug", need, h.updateArticle)
	api.DELETE("/articles/:slug", need, h.deleteArticle)
	api.POST("/articles/:slug/favorite", need, h.favorite)
	api.DELETE("/articles/:slug/favorite", need, h.unfavorite)

	api.GET("/articles/:slug/comments", may, h.listComments)
	api.POST("/articles/:slug/comments", need, h.addComment)
	api.DELETE("/articles/:slug/comments/:id", need, h.deleteComment)

	api.GET("/tags", h.tags)
	return e, nil
}

type handlers struct {
	tokens   *auth.Tokens
	users    *users.Service
	profiles *profiles.Service
	articles *articles.Service
	comments *comments.Service
}
