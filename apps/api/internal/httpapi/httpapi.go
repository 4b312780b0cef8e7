package httpapi

import (
	"errors"
	"log/slog"

	"github.com/gin-gonic/gin"

	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/conduit/auth"
	"github.com/brisk-go/brisk/libs/conduit/comments"
	"github.com/brisk-go/brisk/libs/conduit/profiles"
	"github.com/brisk-go/brisk/libs/conduit/services"
	"github.com/brisk-go/brisk/libs/conduit/users"
	"github.com/brisk-go/brisk/libs/perfcore/mempool"
	"github.com/brisk-go/brisk/libs/perfcore/shed"
)

// DefaultMaxBodyBytes caps request bodies when Deps.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Deps is everything the HTTP API needs: the domain's services, built by the app, and the
// HTTP settings.
type Deps struct {
	Services           *services.Set
	Logger             *slog.Logger
	CORSAllowedOrigins []string // "*" allows any origin
	MaxBodyBytes       int64    // 0: DefaultMaxBodyBytes

	// Optional.
	// Middleware runs first on every request, before recovery and the routes (telemetry:
	// it must see the final status and the whole latency).
	Middleware []gin.HandlerFunc
	// Deadlines bounds how long each request may run (zero: no deadline).
	Deadlines Deadlines
	// Shedder, when set, refuses /api requests with 503 and Retry-After while the process is
	// overloaded (health routes are outside /api and never shed).
	Shedder *shed.Shedder
	// AccessLog writes one info line per request (LOG_REQUESTS); QuietPaths are not logged
	// (health probes).
	AccessLog  bool
	QuietPaths []string
	// Idempotency stores the outcomes of POSTs sent with an Idempotency-Key (nil: the header
	// is ignored).
	Idempotency *Idempotency
	// LoginThrottle limits failed logins (nil: unlimited).
	LoginThrottle *LoginThrottle
	// Encoders renders JSON bodies with pooled encoders (the MEMORY_* settings size the pool);
	// nil: gin's c.JSON, which marshals into a fresh slice per response.
	Encoders *mempool.JSONPool
}

// New builds the gin engine serving the Conduit API under /api.
func New(d Deps) (*gin.Engine, error) {
	if d.Services == nil {
		return nil, errors.New("httpapi: no services")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = DefaultMaxBodyBytes
	}
	svc := d.Services
	h := &handlers{
		tokens:   svc.Tokens,
		users:    svc.Users,
		profiles: svc.Profiles,
		articles: svc.Articles,
		comments: svc.Comments,

		loginThrottle: d.LoginThrottle,
		encoders:      d.Encoders,
	}

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// A redirect would turn a PUT or DELETE into a GET in many clients: unknown paths are 404s.
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(d.Middleware...)
	e.Use(requestID)
	if d.AccessLog {
		e.Use(accessLog(d.Logger, d.QuietPaths))
	}
	e.Use(recovery(d.Logger))
	if d.Idempotency != nil {
		// Outside the error renderer, so the stored outcome is the answer the client saw.
		e.Use(h.idempotency(d.Idempotency, d.MaxBodyBytes, d.Logger))
	}
	e.Use(renderErrors(d.Logger), cors(d.CORSAllowedOrigins), deadline(d.Deadlines), limitBody(d.MaxBodyBytes), refuseNUL)
	e.NoRoute(func(c *gin.Context) { writeError(c, 404, map[string][]string{"route": {"not found"}}) })
	e.NoMethod(func(c *gin.Context) { writeError(c, 405, map[string][]string{"method": {"not allowed"}}) })

	api := e.Group("/api")
	if d.Shedder != nil {
		api.Use(shedding(d.Shedder))
	}
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

	registerOpenAPI(api)
	return e, nil
}

type handlers struct {
	tokens   *auth.Tokens
	users    *users.Service
	profiles *profiles.Service
	articles *articles.Service
	comments *comments.Service

	loginThrottle *LoginThrottle
	encoders      *mempool.JSONPool
}
