// Package config loads the settings both Brisk apps share, once, at the edge: defaults → the
// chosen profile's presets → optional YAML file (--config) → .env file → environment →
// command-line flags, remembering which layer each value came from.
//
// Every setting is one row of the Settings table: its koanf key, its environment variable, its
// flag, its meaning and its parser. The loader, the validator, the flags and
// docs/configuration.md are all read off that table, so a setting cannot exist in one of them
// and be missing from another. A bad value stops start-up with one line naming the variable,
// the value given and what is allowed (*Error).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joho/godotenv"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

// Config is the loaded, validated configuration.
type Config struct {
	Profile string

	// Values holds every setting the app read, by key, as given (before parsing); Sources says
	// which layer each came from. `api config` shows them.
	Values  map[string]string
	Sources map[string]Source

	HTTP struct {
		Addr               string
		ShutdownTimeout    time.Duration
		ReadHeaderTimeout  time.Duration
		ReadTimeout        time.Duration
		WriteTimeout       time.Duration
		IdleTimeout        time.Duration
		MaxBodyBytes       int64
		CORSAllowedOrigins []string
	}
	AdminAddr string

	Database struct {
		URL string
		// Target is URL parsed, once, here: every part that opens the database takes it.
		Target       data.Target
		MaxOpenConns int // 0: data.DefaultMaxOpenConns
		MaxIdleConns int // 0: same as the open limit
		// ConnMaxLifetime and ConnMaxIdleTime bound how long one connection lives and waits idle.
		ConnMaxLifetime time.Duration
		ConnMaxIdleTime time.Duration
		AutoMigrate     string // auto, true, false
		BatchFinds      string // auto, on, off
		// ParallelCount is off, auto or on: whether a listing's count runs on the goroutine
		// pool while its page query runs (auto: while the optimizer's level is conservative).
		ParallelCount string
	}
	RedisURL string
	Cache    struct {
		TTL       time.Duration
		L1Size    int
		Broadcast string // auto, redis, postgres, off; CacheBroadcast resolves auto
	}

	Jobs struct {
		InProcess   string // auto, true, false
		Concurrency int    // jobs one process runs at once (River's MaxWorkers)
		JobTimeout  time.Duration
		RescueAfter time.Duration
	}

	Log struct {
		Level  slog.Level
		Format string // text, json
		// Requests writes one info line per HTTP request (the API's access log).
		Requests bool
	}
	Auth struct {
		JWTSecret     string
		JWTSecretFile string
		// PreviousSecrets still verify tokens (never sign them): rotate by moving the old
		// key here and setting the new one, then drop it once the old tokens have expired.
		PreviousSecrets []string
		TokenTTL        time.Duration
	}
	Login struct {
		MaxFailuresPerAccount int
		MaxFailuresPerAddress int
		FailureWindow         time.Duration
	}

	Pool struct {
		MinWorkers  int
		MaxWorkers  int
		QueueSize   int
		IdleTimeout time.Duration
	}
	// Shed is adaptive overload shedding of API requests.
	Shed struct {
		Enabled       bool
		CPUThreshold  float64
		Window        time.Duration
		MaxQueueDelay time.Duration
	}
	// CPU is the bounded pool that runs CPU-heavy request work (password hashing).
	CPU struct {
		Workers   int  // 0: GOMAXPROCS
		Inline    bool // CPU_POOL_WORKERS=off: no pool, hashing runs on the request's goroutine
		QueueSize int
	}
	Context struct {
		DefaultTimeout time.Duration
		MaxTimeout     time.Duration
		EnableDeadline bool
	}
	Memory struct {
		// Limit is MEMORY_LIMIT in bytes (0: not given).
		Limit           int64
		PoolSize        int
		SlabSize        int
		CleanupInterval time.Duration
	}
	Optimizer struct {
		SamplingInterval     time.Duration
		OptimizationInterval time.Duration
		MaxOptimizations     int
	}
}

// JobsInProcess resolves JOBS_IN_PROCESS: "auto" runs the workers in the API on SQLite (the
// embedded default is one process) and not on PostgreSQL, where `worker run` does.
func (c *Config) JobsInProcess() bool { return c.onSQLiteUnless(c.Jobs.InProcess) }

// MigrateOnStart resolves DATABASE_AUTO_MIGRATE: "auto" migrates the embedded SQLite database
// (nobody else will) and leaves PostgreSQL to the one-shot migrate step of a deployment.
func (c *Config) MigrateOnStart() bool { return c.onSQLiteUnless(c.Database.AutoMigrate) }

// onSQLiteUnless resolves an auto/true/false switch whose "auto" means "only on the embedded
// SQLite database", where this one process is the whole deployment.
func (c *Config) onSQLiteUnless(mode string) bool {
	switch mode {
	case "true":
		return true
	case "false":
		return false
	default:
		return c.Database.Target.Dialect == "sqlite"
	}
}

// CacheBroadcast resolves CACHE_BROADCAST to the cache's broadcast mode: "redis", "postgres",
// "local" (in-process, the embedded default) or "off" (cache.BroadcastFor takes these words).
func (c *Config) CacheBroadcast() string {
	if c.Cache.Broadcast != "auto" {
		return c.Cache.Broadcast
	}
	if c.RedisURL != "" {
		return "redis"
	}
	if c.Database.Target.Dialect == "postgres" {
		return "postgres"
	}
	return "local"
}

// Setting describes one configuration key.
type Setting struct {
	Key     string // koanf key, also the YAML path (dots are nesting) and the flag name
	Env     string // environment variable
	Meaning string
	Allowed string // what a valid value looks like, shown in errors and docs
	// Default gives the value for a profile; nil means the same fixed Fallback for all.
	Default  func(p presets.Settings) string
	Fallback string
	// Apps lists the apps that read the setting; nil means every app. An app neither parses
	// nor validates a setting it does not read (the worker ignores HTTP_ADDR and JWT_SECRET).
	Apps []App
	// Secret values are never shown (`api config` prints ****).
	Secret bool
	set    func(c *Config, v string) error
}

// App names a program that loads the configuration; it decides which settings are read and
// the default performance preset.
type App string

// The apps.
const (
	API    App = "api"
	Worker App = "worker"
)

// DefaultProfile is the preset an app starts with when APP_PROFILE is not given.
func (a App) DefaultProfile() string {
	if a == Worker {
		return "background"
	}
	return "api"
}

// Reads reports whether app reads the setting.
func (s Setting) Reads(app App) bool { return s.Apps == nil || slices.Contains(s.Apps, app) }

// apiOnly are the keys only the API reads: its HTTP server, its login tokens, and the
// switches of its request path. Every other setting is read by both apps.
var apiOnly = []string{
	"http.addr", "http.shutdown_timeout", "http.max_body_bytes", "http.cors_allowed_origins",
	"http.read_header_timeout", "http.read_timeout", "http.write_timeout", "http.idle_timeout",
	"database.batch_finds", "database.parallel_count", "jobs.in_process", "jwt.secret", "jwt.ttl",
	"cpu.workers", "cpu.queue_size", "memory.pool_size", "memory.slab_size", "memory.cleanup_interval", "shed.enabled", "shed.cpu_threshold", "shed.window", "shed.max_queue_delay",
	"jwt.secret_file", "jwt.previous_secrets",
	"log.requests", "login.max_failures_per_account", "login.max_failures_per_address", "login.failure_window",
}

// DefaultFor returns the setting's default under the named profile.
func (s Setting) DefaultFor(profile string) string {
	if s.Default != nil {
		p, _ := presets.Get(profile)
		return s.Default(p)
	}
	return s.Fallback
}

// Error is a configuration value that failed validation.
type Error struct {
	Env, Key, Value, Allowed string
	Reason                   string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("config: %s=%q is invalid", e.Env, e.Value)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg + "; allowed: " + e.Allowed + " (key " + e.Key + ")"
}

// ProfileNames lists the accepted APP_PROFILE values.
func ProfileNames() []string { return presets.Names() }

func dur(d time.Duration) string { return d.String() }

var errWant = errors.New("") // marker: the Allowed text says it all

func parseInt(v string, least int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, errWant
	}
	if n < least {
		return 0, errWant
	}
	return n, nil
}

// parseDur reads a positive Go duration (500ms, 30s, 5m) or a bare whole number of seconds
// (30), the form the original design document's configuration block uses.
func parseDur(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	d, err := time.ParseDuration(v)
	if err != nil {
		if n, nerr := strconv.ParseInt(v, 10, 64); nerr == nil && n <= int64(math.MaxInt64/time.Second) {
			d, err = time.Duration(n)*time.Second, nil
		}
	}
	if err != nil || d <= 0 {
		return 0, errWant
	}
	return d, nil
}

// parseBytes reads a whole number of bytes with an optional KiB, MiB or GiB suffix.
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(v, suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, suffix)), m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, errWant
	}
	return n * mult, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, errWant
	}
	return b, nil
}

func parseAddr(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return errWant
	}
	_ = host
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errWant
	}
	return nil
}

func intSetting(key, env, meaning string, least int, def func(presets.Settings) int, dst func(*Config) *int) Setting {
	return Setting{
		Key: key, Env: env, Meaning: meaning,
		Allowed: fmt.Sprintf("a whole number ≥ %d", least),
		Default: func(p presets.Settings) string { return strconv.Itoa(def(p)) },
		set: func(c *Config, v string) (err error) {
			*dst(c), err = parseInt(v, least)
			return err
		},
	}
}

func durSetting(key, env, meaning string, def func(presets.Settings) time.Duration, dst func(*Config) *time.Duration) Setting {
	return Setting{
		Key: key, Env: env, Meaning: meaning,
		Allowed: "a positive Go duration such as 500ms, 30s, 5m, or a whole number of seconds",
		Default: func(p presets.Settings) string { return dur(def(p)) },
		set: func(c *Config, v string) (err error) {
			*dst(c), err = parseDur(v)
			return err
		},
	}
}

// enumSetting is a setting that takes one of a few words; the first is the default.
func enumSetting(key, env, meaning string, words []string, dst func(*Config) *string) Setting {
	allowed := strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
	return Setting{
		Key: key, Env: env, Meaning: meaning, Allowed: allowed, Fallback: words[0],
		set: func(c *Config, v string) error {
			if !slices.Contains(words, v) {
				return errWant
			}
			*dst(c) = v
			return nil
		},
	}
}

// Settings is the table of every configuration key, in documentation order.
func Settings() []Setting {
	list := settings()
	for i := range list {
		if slices.Contains(apiOnly, list[i].Key) {
			list[i].Apps = []App{API}
		}
	}
	return list
}

func settings() []Setting {
	return []Setting{
		{Key: "app.profile", Env: "APP_PROFILE", Fallback: "api",
			Meaning: "Performance preset that sets the defaults of the pool, timeout, memory and optimizer settings below; explicit values override it.",
			Allowed: "one of " + strings.Join(presets.Names(), ", "),
			set: func(c *Config, v string) error {
				if _, ok := presets.Get(v); !ok {
					return errWant
				}
				c.Profile = v
				return nil
			}},
		{Key: "http.addr", Env: "HTTP_ADDR", Fallback: "127.0.0.1:8080",
			Meaning: "Address the API listens on (use :8080 or 0.0.0.0:8080 in a container; port 0 picks a free one).",
			Allowed: "host:port with a port 0–65535",
			set: func(c *Config, v string) error {
				if err := parseAddr(v); err != nil {
					return err
				}
				c.HTTP.Addr = v
				return nil
			}},
		durSetting("http.shutdown_timeout", "HTTP_SHUTDOWN_TIMEOUT",
			"How long a stopping server lets in-flight requests finish before closing their connections.",
			func(presets.Settings) time.Duration { return 15 * time.Second },
			func(c *Config) *time.Duration { return &c.HTTP.ShutdownTimeout }),
		durSetting("http.read_header_timeout", "HTTP_READ_HEADER_TIMEOUT",
			"How long a client may take to send a request's headers.",
			func(presets.Settings) time.Duration { return 10 * time.Second },
			func(c *Config) *time.Duration { return &c.HTTP.ReadHeaderTimeout }),
		durSetting("http.read_timeout", "HTTP_READ_TIMEOUT",
			"How long a client may take to send a whole request, headers and body; a body trickled slower is cut off and its connection closed.",
			func(presets.Settings) time.Duration { return 30 * time.Second },
			func(c *Config) *time.Duration { return &c.HTTP.ReadTimeout }),
		durSetting("http.write_timeout", "HTTP_WRITE_TIMEOUT",
			"How long the server may take from the end of a request's headers to the end of its response; keep it above CONTEXT_MAX_TIMEOUT (the default is that plus a minute).",
			func(p presets.Settings) time.Duration { return p.ContextMaxTimeout + time.Minute },
			func(c *Config) *time.Duration { return &c.HTTP.WriteTimeout }),
		durSetting("http.idle_timeout", "HTTP_IDLE_TIMEOUT",
			"How long a kept-alive connection may wait for its next request.",
			func(presets.Settings) time.Duration { return 2 * time.Minute },
			func(c *Config) *time.Duration { return &c.HTTP.IdleTimeout }),
		{Key: "http.max_body_bytes", Env: "HTTP_MAX_BODY_BYTES", Fallback: strconv.Itoa(1 << 20),
			Meaning: "Largest request body accepted; larger ones get 413.",
			Allowed: "a whole number ≥ 1024",
			set: func(c *Config, v string) error {
				n, err := parseInt(v, 1024)
				c.HTTP.MaxBodyBytes = int64(n)
				return err
			}},
		{Key: "http.cors_allowed_origins", Env: "CORS_ALLOWED_ORIGINS", Fallback: "",
			Meaning: "Comma-separated origins a browser front end may call the API from (for example http://localhost:3000); * allows any; empty sends no CORS headers.",
			Allowed: "*, or a comma-separated list of http(s)://host[:port] origins",
			set: func(c *Config, v string) error {
				c.HTTP.CORSAllowedOrigins = nil
				for _, o := range strings.Split(v, ",") {
					o = strings.TrimSpace(o)
					if o == "" {
						continue
					}
					if o != "*" {
						u, err := url.Parse(o)
						if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
							return errWant
						}
					}
					c.HTTP.CORSAllowedOrigins = append(c.HTTP.CORSAllowedOrigins, o)
				}
				return nil
			}},
		{Key: "admin.addr", Env: "ADMIN_ADDR", Fallback: "127.0.0.1:9090",
			Meaning: "Address of the admin listener (/metrics, /debug/pprof, /debug/perf); off turns it off. An API and a worker on one host need different ports.",
			Allowed: "host:port, or off",
			set: func(c *Config, v string) error {
				if v == "off" {
					c.AdminAddr = ""
					return nil
				}
				if v != "" {
					if err := parseAddr(v); err != nil {
						return err
					}
				}
				c.AdminAddr = v
				return nil
			}},
		{Key: "database.url", Env: "DATABASE_URL", Fallback: "",
			Meaning: "Database to use: postgres://… for PostgreSQL; sqlite://PATH or file:PATH for SQLite; empty for the embedded SQLite at " + data.DefaultSQLitePath + ".",
			Allowed: "postgres://user@host:port/db?…, sqlite://PATH, file:PATH, or empty",
			set: func(c *Config, v string) error {
				t, err := data.ParseURL(v, 0)
				if err != nil {
					return &Error{Reason: err.Error()}
				}
				c.Database.URL, c.Database.Target = v, t
				return nil
			}},
		intSetting("database.max_open_conns", "DATABASE_MAX_OPEN_CONNS",
			"Most open database connections per process (0: 4 for SQLite, 4×GOMAXPROCS and at least 8 for PostgreSQL). Every process counts against PostgreSQL's max_connections.", 0,
			func(presets.Settings) int { return 0 },
			func(c *Config) *int { return &c.Database.MaxOpenConns }),
		intSetting("database.max_idle_conns", "DATABASE_MAX_IDLE_CONNS",
			"Most idle connections kept open (0: as many as may be open, so a busy pool never closes a connection it needs a moment later).", 0,
			func(presets.Settings) int { return 0 },
			func(c *Config) *int { return &c.Database.MaxIdleConns }),
		durSetting("database.conn_max_lifetime", "DATABASE_CONN_MAX_LIFETIME",
			"Close a database connection this long after it was opened (lets the pool follow a fail-over or a re-balanced server).",
			func(presets.Settings) time.Duration { return data.DefaultConnMaxLifetime },
			func(c *Config) *time.Duration { return &c.Database.ConnMaxLifetime }),
		durSetting("database.conn_max_idle_time", "DATABASE_CONN_MAX_IDLE_TIME",
			"Close a database connection left idle this long (the pool shrinks after a burst).",
			func(presets.Settings) time.Duration { return data.DefaultConnMaxIdleTime },
			func(c *Config) *time.Duration { return &c.Database.ConnMaxIdleTime }),
		enumSetting("database.auto_migrate", "DATABASE_AUTO_MIGRATE",
			"Run pending migrations when `serve` starts: auto does so on SQLite only (PostgreSQL deployments run `migrate up` once).",
			[]string{"auto", "true", "false"}, func(c *Config) *string { return &c.Database.AutoMigrate }),
		enumSetting("database.batch_finds", "DATABASE_BATCH_FINDS",
			"Coalesce concurrent finds by id into one query: auto follows the runtime optimizer (on from its aggressive level, off below), on and off force it.",
			[]string{"auto", "on", "off"}, func(c *Config) *string { return &c.Database.BatchFinds }),
		{Key: "database.parallel_count", Env: "DATABASE_PARALLEL_COUNT", Fallback: "off",
			Meaning: "Run an article listing's count query on the goroutine pool while its page query runs (two connections per listing): on always, auto while the runtime optimizer's level is conservative (idle: latency matters, cores are free), off never. Off by default: on 2 cores it measured slower even at one client (docs/benchmarks.md); true and false are on and off.",
			Allowed: "off, auto or on (or true/false)",
			set: func(c *Config, v string) error {
				switch strings.ToLower(strings.TrimSpace(v)) {
				case "off", "false":
					c.Database.ParallelCount = "off"
				case "on", "true":
					c.Database.ParallelCount = "on"
				case "auto":
					c.Database.ParallelCount = "auto"
				default:
					return errWant
				}
				return nil
			}},
		{Key: "redis.url", Env: "REDIS_URL", Fallback: "",
			Meaning: "Redis for the shared cache (redis://host:port/db); empty uses the in-process memory cache.",
			Allowed: "redis://… or rediss://…, or empty",
			set: func(c *Config, v string) error {
				if v != "" {
					u, err := url.Parse(v)
					if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
						return errWant
					}
				}
				c.RedisURL = v
				return nil
			}},
		durSetting("cache.ttl", "CACHE_TTL",
			"How long the API keeps a cached article, profile, tag list, listing total or signed-in account (the user each authenticated request resolves); writes invalidate their entries at once, so this bounds only what another instance's race could leave behind, and how long an account deleted outside the API still resolves.",
			func(presets.Settings) time.Duration { return time.Minute },
			func(c *Config) *time.Duration { return &c.Cache.TTL }),
		intSetting("cache.l1_size", "CACHE_L1_SIZE",
			"Entries each instance keeps in process: the whole cache without REDIS_URL; with it, the L1 level in front of Redis that serves hot reads without a round trip (kept coherent by CACHE_BROADCAST; 0 turns the L1 off so every cached read goes to Redis).", 0,
			func(presets.Settings) int { return 100_000 },
			func(c *Config) *int { return &c.Cache.L1Size }),
		enumSetting("cache.broadcast", "CACHE_BROADCAST",
			"How deletes and tag flushes reach the other instances' in-process caches: auto is redis (pub/sub) with REDIS_URL, postgres (LISTEN/NOTIFY) on a PostgreSQL DATABASE_URL, and in-process on the embedded default; off sends nothing (right for one instance only; with REDIS_URL it also turns the L1 off).",
			[]string{"auto", "redis", "postgres", "off"}, func(c *Config) *string { return &c.Cache.Broadcast }),
		enumSetting("jobs.in_process", "JOBS_IN_PROCESS",
			"Run the background job workers inside the API process: auto does so on SQLite (the embedded default has no separate worker) and leaves PostgreSQL to `worker run`.",
			[]string{"auto", "true", "false"}, func(c *Config) *string { return &c.Jobs.InProcess }),
		intSetting("jobs.concurrency", "JOBS_CONCURRENCY",
			"Jobs one process runs at the same time (River's queue MaxWorkers; the jobs themselves run as tasks of the perfcore pool, GOROUTINE_*). Was JOBS_MAX_WORKERS.", 1,
			func(presets.Settings) int { return 10 },
			func(c *Config) *int { return &c.Jobs.Concurrency }),
		durSetting("jobs.job_timeout", "JOBS_JOB_TIMEOUT",
			"Longest one job may run before its context is cancelled (and it is retried); also how long a stopping worker waits for running jobs.",
			func(presets.Settings) time.Duration { return time.Minute },
			func(c *Config) *time.Duration { return &c.Jobs.JobTimeout }),
		durSetting("jobs.rescue_after", "JOBS_RESCUE_AFTER",
			"How long a job may stay running before it is taken for lost (its worker died) and retried; must exceed JOBS_JOB_TIMEOUT.",
			func(presets.Settings) time.Duration { return time.Hour },
			func(c *Config) *time.Duration { return &c.Jobs.RescueAfter }),
		{Key: "log.level", Env: "LOG_LEVEL", Fallback: "info",
			Meaning: "Lowest level logged.", Allowed: "debug, info, warn or error",
			set: func(c *Config, v string) error {
				switch strings.ToLower(v) {
				case "debug":
					c.Log.Level = slog.LevelDebug
				case "info":
					c.Log.Level = slog.LevelInfo
				case "warn", "warning":
					c.Log.Level = slog.LevelWarn
				case "error":
					c.Log.Level = slog.LevelError
				default:
					return errWant
				}
				return nil
			}},
		{Key: "log.requests", Env: "LOG_REQUESTS", Fallback: "true",
			Meaning: "Write one info line per HTTP request (method, route template, status, bytes, latency, request id, user id): the API's access log. Health probes are not logged.",
			Allowed: "true or false",
			set: func(c *Config, v string) (err error) {
				c.Log.Requests, err = parseBool(v)
				return err
			}},
		enumSetting("log.format", "LOG_FORMAT", "Log line format: text for people, json for log collectors.",
			[]string{"text", "json"}, func(c *Config) *string { return &c.Log.Format }),
		{Key: "jwt.secret", Env: "JWT_SECRET", Fallback: "", Secret: true,
			Meaning: "Key that signs login tokens (HS256). Required (or JWT_SECRET_FILE) unless the database is the embedded SQLite: the API refuses to serve without it (exit 2). On the embedded default an empty key means a random one generated once and kept in var/jwt.key, so tokens survive restarts.",
			Allowed: "empty, or at least 32 characters",
			set: func(c *Config, v string) error {
				if v != "" && len(v) < 32 {
					return &Error{Reason: fmt.Sprintf("%d characters is too short to sign tokens safely", len(v))}
				}
				c.Auth.JWTSecret = v
				return nil
			}},
		{Key: "jwt.secret_file", Env: "JWT_SECRET_FILE", Fallback: "",
			Meaning: "File holding the signing key (a mounted secret), used when JWT_SECRET is empty; surrounding whitespace is ignored. A file that group or others may read is loaded with a warning. One of the two is required unless the database is the embedded SQLite.",
			Allowed: "empty, or the path of a readable file of at least 32 characters",
			set: func(c *Config, v string) error {
				c.Auth.JWTSecretFile = strings.TrimSpace(v)
				return nil
			}},
		{Key: "jwt.previous_secrets", Env: "JWT_PREVIOUS_SECRETS", Fallback: "",
			Meaning: "Comma-separated former signing keys: tokens they signed still verify, new tokens use JWT_SECRET. For rotating the key without logging everyone out.",
			Allowed: "empty, or a comma-separated list of keys of at least 32 characters each",
			set: func(c *Config, v string) error {
				c.Auth.PreviousSecrets = nil
				for _, k := range strings.Split(v, ",") {
					k = strings.TrimSpace(k)
					if k == "" {
						continue
					}
					if len(k) < 32 {
						return &Error{Reason: fmt.Sprintf("a key of %d characters is too short to verify tokens safely", len(k))}
					}
					c.Auth.PreviousSecrets = append(c.Auth.PreviousSecrets, k)
				}
				return nil
			}},
		intSetting("login.max_failures_per_account", "LOGIN_MAX_FAILURES_PER_ACCOUNT",
			"Failed logins for one email within LOGIN_FAILURE_WINDOW after which its logins get 429 with Retry-After until the window ends (counted in Redis when REDIS_URL is set, so all instances share it); 0 turns the limit off.", 0,
			func(presets.Settings) int { return 10 },
			func(c *Config) *int { return &c.Login.MaxFailuresPerAccount }),
		intSetting("login.max_failures_per_address", "LOGIN_MAX_FAILURES_PER_ADDRESS",
			"Failed logins from one client address (the connection's peer, not X-Forwarded-For) within LOGIN_FAILURE_WINDOW after which its logins get 429; 0 turns the limit off.", 0,
			func(presets.Settings) int { return 100 },
			func(c *Config) *int { return &c.Login.MaxFailuresPerAddress }),
		durSetting("login.failure_window", "LOGIN_FAILURE_WINDOW",
			"How long failed logins count, from the first failure of a window.",
			func(presets.Settings) time.Duration { return 15 * time.Minute },
			func(c *Config) *time.Duration { return &c.Login.FailureWindow }),
		durSetting("jwt.ttl", "JWT_TTL", "How long a login token stays valid.",
			func(presets.Settings) time.Duration { return 72 * time.Hour },
			func(c *Config) *time.Duration { return &c.Auth.TokenTTL }),

		intSetting("goroutine.min_workers", "GOROUTINE_MIN_WORKERS",
			"Workers the goroutine pool keeps running even when idle.", 1,
			func(p presets.Settings) int { return p.MinWorkers },
			func(c *Config) *int { return &c.Pool.MinWorkers }),
		intSetting("goroutine.max_workers", "GOROUTINE_MAX_WORKERS",
			"Most workers the pool (and the optimizer) may run; must be ≥ GOROUTINE_MIN_WORKERS.", 1,
			func(p presets.Settings) int { return p.MaxWorkers },
			func(c *Config) *int { return &c.Pool.MaxWorkers }),
		intSetting("goroutine.queue_size", "GOROUTINE_QUEUE_SIZE",
			"Tasks that may wait in the pool's global queue before submitters are pushed back.", 1,
			func(p presets.Settings) int { return p.QueueSize },
			func(c *Config) *int { return &c.Pool.QueueSize }),
		durSetting("goroutine.idle_timeout", "GOROUTINE_IDLE_TIMEOUT",
			"How long a worker above the minimum may stay idle before it exits.",
			func(p presets.Settings) time.Duration { return p.IdleTimeout },
			func(c *Config) *time.Duration { return &c.Pool.IdleTimeout }),
		{Key: "shed.enabled", Env: "SHED_ENABLED", Fallback: "true",
			Meaning: "Adaptive overload shedding: while the CPU is saturated, a request that would exceed recent throughput × (best latency + SHED_MAX_QUEUE_DELAY) in flight, and at least 8 per core, gets 503 with Retry-After at once (health and admin routes exempt).",
			Allowed: "true or false",
			set: func(c *Config, v string) (err error) {
				c.Shed.Enabled, err = parseBool(v)
				return err
			}},
		{Key: "shed.cpu_threshold", Env: "SHED_CPU_THRESHOLD", Fallback: "0.8",
			Meaning: "CPU share (of GOMAXPROCS) above which the process counts as saturated for shedding.",
			Allowed: "a number above 0 and at most 1",
			set: func(c *Config, v string) error {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f <= 0 || f > 1 {
					return errWant
				}
				c.Shed.CPUThreshold = f
				return nil
			}},
		durSetting("shed.window", "SHED_WINDOW",
			"How far back the shedder remembers throughput and latency.",
			func(presets.Settings) time.Duration { return 5 * time.Second },
			func(c *Config) *time.Duration { return &c.Shed.Window }),
		durSetting("shed.max_queue_delay", "SHED_MAX_QUEUE_DELAY",
			"How long an admitted request may wait behind the others before the shedder refuses new ones: a busy server whose requests wait less is not overloaded.",
			func(presets.Settings) time.Duration { return 50 * time.Millisecond },
			func(c *Config) *time.Duration { return &c.Shed.MaxQueueDelay }),
		{Key: "cpu.workers", Env: "CPU_POOL_WORKERS", Fallback: "0",
			Meaning: "Workers of the pool that runs CPU-heavy request work (password hashing); 0: one per CPU but one (GOMAXPROCS−1, at least 1), so a login flood leaves a core to the other requests; off: no pool, each request hashes on its own goroutine (unbounded; for comparison, docs/benchmarks.md).",
			Allowed: "a whole number ≥ 0, or off",
			set: func(c *Config, v string) (err error) {
				if c.CPU.Inline = strings.TrimSpace(v) == "off"; c.CPU.Inline {
					c.CPU.Workers = 0
					return nil
				}
				c.CPU.Workers, err = parseInt(v, 0)
				return err
			}},
		intSetting("cpu.queue_size", "CPU_POOL_QUEUE_SIZE",
			"Tasks that may wait for the CPU pool per priority; when it is full a request gets 503 with Retry-After at once instead of queueing into its deadline.", 1,
			func(presets.Settings) int { return 64 },
			func(c *Config) *int { return &c.CPU.QueueSize }),
		durSetting("context.default_timeout", "CONTEXT_DEFAULT_TIMEOUT",
			"Deadline given to a request (and to event listeners) when the caller set none.",
			func(p presets.Settings) time.Duration { return p.ContextDefaultTimeout },
			func(c *Config) *time.Duration { return &c.Context.DefaultTimeout }),
		durSetting("context.max_timeout", "CONTEXT_MAX_TIMEOUT",
			"Cap on any deadline a caller asks for; must be ≥ CONTEXT_DEFAULT_TIMEOUT.",
			func(p presets.Settings) time.Duration { return p.ContextMaxTimeout },
			func(c *Config) *time.Duration { return &c.Context.MaxTimeout }),
		{Key: "context.enable_deadline", Env: "CONTEXT_ENABLE_DEADLINE",
			Meaning: "Add the default deadline only where the caller's context has none (false: never add one).",
			Allowed: "true or false",
			Default: func(p presets.Settings) string { return strconv.FormatBool(p.ContextEnableDeadline) },
			set: func(c *Config, v string) (err error) {
				c.Context.EnableDeadline, err = parseBool(v)
				return err
			}},
		{Key: "memory.limit", Env: "MEMORY_LIMIT", Fallback: "0",
			Meaning: "Memory the process may use, for the optimizer's heap-pressure action, when neither GOMEMLIMIT nor a container (cgroup) limit says; 0: unknown.",
			Allowed: "a whole number of bytes, optionally with KiB, MiB or GiB (512MiB)",
			set: func(c *Config, v string) error {
				n, err := parseBytes(v)
				c.Memory.Limit = n
				return err
			}},
		intSetting("memory.pool_size", "MEMORY_POOL_SIZE",
			"Most idle JSON encoders the API's response-body pool keeps for reuse (perfcore.mempool.*); 0 keeps none.", 0,
			func(p presets.Settings) int { return p.MemoryPoolSize },
			func(c *Config) *int { return &c.Memory.PoolSize }),
		intSetting("memory.slab_size", "MEMORY_SLAB_SIZE",
			"Bytes each pooled response buffer starts with: bodies up to it never regrow; a buffer grown beyond 8 slabs is not kept.", 1024,
			func(p presets.Settings) int { return p.MemorySlabSize },
			func(c *Config) *int { return &c.Memory.SlabSize }),
		durSetting("memory.cleanup_interval", "MEMORY_CLEANUP_INTERVAL",
			"How often pooled response buffers left idle for a whole interval are released to the garbage collector.",
			func(p presets.Settings) time.Duration { return p.MemoryCleanupInterval },
			func(c *Config) *time.Duration { return &c.Memory.CleanupInterval }),
		durSetting("profile.sampling_interval", "PROFILE_SAMPLING_INTERVAL",
			"How often the runtime optimizer reads runtime metrics.",
			func(p presets.Settings) time.Duration { return p.ProfileSamplingInterval },
			func(c *Config) *time.Duration { return &c.Optimizer.SamplingInterval }),
		durSetting("profile.optimization_interval", "PROFILE_OPTIMIZATION_INTERVAL",
			"Window in which the optimizer may act at most PROFILE_MAX_OPTIMIZATIONS times.",
			func(p presets.Settings) time.Duration { return p.ProfileOptimizationInterval },
			func(c *Config) *time.Duration { return &c.Optimizer.OptimizationInterval }),
		intSetting("profile.max_optimizations", "PROFILE_MAX_OPTIMIZATIONS",
			"Most optimizer actions per interval (0 turns the optimizer's actions off; it still measures).", 0,
			func(p presets.Settings) int { return p.ProfileMaxOptimizations },
			func(c *Config) *int { return &c.Optimizer.MaxOptimizations }),
	}
}

// Source says which layer an effective value came from, lowest precedence first.
type Source string

// The layers, in precedence order: a later one overrides an earlier one.
const (
	FromDefault Source = "default" // the same fixed default under every profile
	FromProfile Source = "profile" // the default of the chosen performance preset
	FromFile    Source = "file"    // the YAML file given with --config
	FromDotEnv  Source = ".env"    // the .env file in the working directory (or --env-file)
	FromEnv     Source = "env"     // the process environment
	FromFlag    Source = "flag"    // --KEY=VALUE on the command line
)

// DotEnvFile is the file Load reads environment variables from, in the working directory.
const DotEnvFile = ".env"

// Input is every layer Build reads. The caller gathers it at the edge: cobra parses the
// command line into Flags, the .env file is read with ReadDotEnv.
type Input struct {
	App    App
	Getenv func(string) string
	// File is the YAML file of --config; empty for none.
	File string
	// DotEnv holds the variables of the .env file; the environment wins over it.
	DotEnv map[string]string
	// Flags holds the settings given on the command line, by key (http.addr).
	Flags map[string]string
}

// Load builds app's configuration from args (flags, including --config FILE and --env-file
// FILE) and getenv, with the variables of ./.env under the environment. Only the settings app
// reads are parsed and validated; the app's own preset is the default when APP_PROFILE is not
// given. Flags are named after the keys: --http.addr=:9000. It returns the remaining
// positional arguments (subcommands). extraFlags lets a subcommand add flags of its own
// (seed --users N) to the same parse.
func Load(args []string, getenv func(string) string, app App, extraFlags ...func(*flag.FlagSet)) (*Config, []string, error) {
	if app != API && app != Worker {
		return nil, nil, fmt.Errorf("config: unknown app %q", app)
	}
	set := flag.NewFlagSet("brisk", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	for _, add := range extraFlags {
		add(set)
	}
	configFile := set.String("config", "", "YAML configuration file")
	envFile := set.String("env-file", "", "file of KEY=VALUE lines read under the environment (default ./.env if present)")
	flagVals := map[string]*string{}
	for _, s := range Settings() {
		if s.Reads(app) {
			flagVals[s.Key] = set.String(s.Key, "", s.Meaning)
		}
	}
	if err := set.Parse(args); err != nil {
		return nil, nil, fmt.Errorf("config: %w (flags are --config FILE and --KEY=VALUE for the keys in docs/configuration.md)", err)
	}
	in := Input{App: app, Getenv: getenv, File: *configFile, Flags: map[string]string{}}
	set.Visit(func(f *flag.Flag) {
		if v, ours := flagVals[f.Name]; ours {
			in.Flags[f.Name] = *v
		}
	})
	var err error
	if in.DotEnv, err = ReadDotEnv(*envFile); err != nil {
		return nil, nil, err
	}
	c, err := Build(in)
	if err != nil {
		return nil, nil, err
	}
	return c, set.Args(), nil
}

// ReadDotEnv reads a .env file of KEY=VALUE lines (comments, quotes and `export` allowed).
// An empty path means ./.env, and its absence is no error; a path given must exist.
func ReadDotEnv(path string) (map[string]string, error) {
	required := path != ""
	if !required {
		path = DotEnvFile
	}
	vals, err := godotenv.Read(path)
	if err != nil {
		if !required && errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("config: env file %s: %w", path, err)
	}
	return vals, nil
}

// renamed maps settings' former variable names to their new ones: a value under an old name
// stops start-up naming the new one instead of being silently ignored.
var renamed = []struct{ oldEnv, oldKey, newEnv string }{
	{"JOBS_MAX_WORKERS", "jobs.max_workers", "JOBS_CONCURRENCY"},
}

func refuseRenamed(in Input) error {
	for _, r := range renamed {
		v, set := lookup(in.Getenv, r.oldEnv)
		if !set {
			v, set = in.DotEnv[r.oldEnv]
		}
		if set {
			return &Error{Env: r.oldEnv, Key: r.oldKey, Value: v,
				Reason: "this setting was renamed", Allowed: "the same value under " + r.newEnv}
		}
	}
	return nil
}

// Build validates the layers of in into a Config, recording where each value came from.
func Build(in Input) (*Config, error) {
	if in.App != API && in.App != Worker {
		return nil, fmt.Errorf("config: unknown app %q", in.App)
	}
	if in.Getenv == nil {
		in.Getenv = func(string) string { return "" }
	}
	var settings []Setting
	for _, s := range Settings() {
		if s.Reads(in.App) {
			settings = append(settings, s)
		}
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Key] = true
	}
	if err := refuseRenamed(in); err != nil {
		return nil, err
	}
	for k := range in.Flags {
		if !known[k] {
			return nil, fmt.Errorf("config: flag --%s is not a setting the %s reads", k, in.App)
		}
	}

	// Explicit values, one koanf per layer, lowest precedence first.
	type layer struct {
		src Source
		k   *koanf.Koanf
	}
	var layers []layer
	if in.File != "" {
		k := koanf.New(".")
		if err := k.Load(file.Provider(in.File), yaml.Parser()); err != nil {
			return nil, fmt.Errorf("config: --config %s: %w", in.File, err)
		}
		layers = append(layers, layer{FromFile, k})
	}
	byEnv := func(get func(string) (string, bool)) map[string]any {
		m := map[string]any{}
		for _, s := range settings {
			if v, ok := get(s.Env); ok {
				m[s.Key] = v
			}
		}
		return m
	}
	maps := []struct {
		src Source
		m   map[string]any
	}{
		{FromDotEnv, byEnv(func(name string) (string, bool) { v, ok := in.DotEnv[name]; return v, ok && v != "" })},
		{FromEnv, byEnv(func(name string) (string, bool) { return lookup(in.Getenv, name) })},
		{FromFlag, func() map[string]any {
			m := map[string]any{}
			for k, v := range in.Flags {
				m[k] = v
			}
			return m
		}()},
	}
	for _, l := range maps {
		k := koanf.New(".")
		if err := k.Load(confmap.Provider(l.m, "."), nil); err != nil {
			return nil, fmt.Errorf("config: %s: %w", l.src, err)
		}
		layers = append(layers, layer{l.src, k})
	}
	explicit := func(key string) (string, Source, bool) {
		for i := len(layers) - 1; i >= 0; i-- {
			if layers[i].k.Exists(key) {
				return fmt.Sprint(layers[i].k.Get(key)), layers[i].src, true
			}
		}
		return "", "", false
	}

	profile := in.App.DefaultProfile()
	if v, _, ok := explicit("app.profile"); ok {
		profile = v
	}
	c := &Config{Sources: map[string]Source{}, Values: map[string]string{}}
	// The profile itself is checked first: every other default depends on it.
	for _, s := range settings {
		v, src, ok := explicit(s.Key)
		if !ok {
			v, src = s.DefaultFor(profile), s.defaultSource()
			if s.Key == "app.profile" {
				v = profile
			}
		}
		if err := apply(c, s, v); err != nil {
			return nil, err
		}
		c.Sources[s.Key], c.Values[s.Key] = src, v
	}
	if err := crossCheck(c); err != nil {
		return nil, err
	}
	return c, nil
}

// defaultSource is "profile" for a setting whose default differs between the presets.
func (s Setting) defaultSource() Source {
	if s.Default == nil {
		return FromDefault
	}
	names := presets.Names()
	for _, n := range names {
		if s.DefaultFor(n) != s.DefaultFor(names[0]) {
			return FromProfile
		}
	}
	return FromDefault
}

// Masked is the value as it may be shown: a secret reads "****", a URL loses its password.
func (s Setting) Masked(v string) string {
	if v == "" {
		return v
	}
	if s.Secret {
		return "****"
	}
	if strings.Contains(v, "://") {
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if _, has := u.User.Password(); has {
				return u.Redacted()
			}
		}
	}
	return v
}

// lookup treats an empty variable as set only for keys whose empty value means something
// (DATABASE_URL="" is the embedded default either way), so `FOO= cmd` never sets a number to "".
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func apply(c *Config, s Setting, v string) error {
	err := s.set(c, v)
	if err == nil {
		return nil
	}
	e := &Error{Env: s.Env, Key: s.Key, Value: v, Allowed: s.Allowed}
	var ce *Error
	if errors.As(err, &ce) {
		e.Reason = ce.Reason
	}
	return e
}

func crossCheck(c *Config) error {
	if c.Pool.MinWorkers > c.Pool.MaxWorkers {
		return &Error{Env: "GOROUTINE_MIN_WORKERS", Key: "goroutine.min_workers", Value: strconv.Itoa(c.Pool.MinWorkers),
			Allowed: fmt.Sprintf("at most GOROUTINE_MAX_WORKERS (%d)", c.Pool.MaxWorkers),
			Reason:  "the minimum exceeds the maximum"}
	}
	if c.Jobs.RescueAfter <= c.Jobs.JobTimeout {
		return &Error{Env: "JOBS_RESCUE_AFTER", Key: "jobs.rescue_after", Value: c.Jobs.RescueAfter.String(),
			Allowed: fmt.Sprintf("more than JOBS_JOB_TIMEOUT (%s)", c.Jobs.JobTimeout),
			Reason:  "a job still running within its timeout would be taken for lost"}
	}
	if c.Cache.Broadcast == "redis" && c.RedisURL == "" {
		return &Error{Env: "CACHE_BROADCAST", Key: "cache.broadcast", Value: c.Cache.Broadcast,
			Allowed: "auto, postgres or off without REDIS_URL", Reason: "broadcasting over Redis needs REDIS_URL"}
	}
	if c.Cache.Broadcast == "postgres" && c.Database.Target.Dialect != "postgres" {
		return &Error{Env: "CACHE_BROADCAST", Key: "cache.broadcast", Value: c.Cache.Broadcast,
			Allowed: "auto, redis or off without a PostgreSQL DATABASE_URL", Reason: "LISTEN/NOTIFY needs PostgreSQL"}
	}
	if c.Context.DefaultTimeout > c.Context.MaxTimeout {
		return &Error{Env: "CONTEXT_DEFAULT_TIMEOUT", Key: "context.default_timeout", Value: c.Context.DefaultTimeout.String(),
			Allowed: fmt.Sprintf("at most CONTEXT_MAX_TIMEOUT (%s)", c.Context.MaxTimeout),
			Reason:  "the default deadline exceeds the cap"}
	}
	return nil
}

// Markdown renders the reference table of docs/configuration.md from the Settings table.
func Markdown() string {
	names := presets.Names()
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| Variable | Key / flag | Read by | Default (" + strings.Join(names, " / ") + ") | Allowed | Meaning |\n|---|---|---|---|---|---|\n")
	for _, s := range Settings() {
		var defs []string
		for _, n := range names {
			defs = append(defs, "`"+s.DefaultFor(n)+"`")
		}
		def := strings.Join(defs, " / ")
		if allSame(defs) {
			def = defs[0]
		}
		if s.Default == nil {
			def = "`" + s.Fallback + "`"
			if s.Fallback == "" {
				def = "(empty)"
			}
		}
		readBy := "api, worker"
		if s.Apps != nil {
			readBy = ""
			for i, a := range s.Apps {
				if i > 0 {
					readBy += ", "
				}
				readBy += string(a)
			}
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s |\n", s.Env, s.Key, readBy, def, s.Allowed, strings.ReplaceAll(s.Meaning, "|", "\\|"))
	}
	return b.String()
}

func allSame(xs []string) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return true
}

// DotEnvExample renders .env.example from the Settings table: every variable, commented out,
// with its meaning and its default (under the API's preset).
func DotEnvExample() string {
	var b strings.Builder
	b.WriteString("# Brisk's settings as environment variables. Copy this file to .env and uncomment what you\n" +
		"# change: both apps read ./.env at start, and real environment variables win over it.\n" +
		"# Generated from libs/config's Settings table: go test ./libs/config -update\n")
	for _, s := range Settings() {
		b.WriteString("\n")
		for _, line := range wrap(s.Meaning, 94) {
			b.WriteString("# " + line + "\n")
		}
		fmt.Fprintf(&b, "# Allowed: %s\n", s.Allowed)
		fmt.Fprintf(&b, "# %s=%s\n", s.Env, s.DefaultFor(API.DefaultProfile()))
	}
	return b.String()
}

func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
