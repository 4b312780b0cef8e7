package config_test

import (
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/config"
	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultsFollowTheProfile(t *testing.T) {
	t.Parallel()
	for _, name := range presets.Names() {
		p, _ := presets.Get(name)
		c, _, err := config.Load(nil, env(map[string]string{"APP_PROFILE": name}), "api")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Profile != name || c.Pool.MinWorkers != p.MinWorkers || c.Pool.MaxWorkers != p.MaxWorkers ||
			c.Pool.QueueSize != p.QueueSize || c.Context.DefaultTimeout != p.ContextDefaultTimeout ||
			c.Memory.SlabSize != p.MemorySlabSize || c.Optimizer.MaxOptimizations != p.ProfileMaxOptimizations {
			t.Errorf("%s: config %+v does not carry the profile's defaults %+v", name, c, p)
		}
	}
	c, _, err := config.Load(nil, env(nil), config.Worker)
	if err != nil || c.Profile != "background" {
		t.Fatalf("app default profile not applied: %v %v", c, err)
	}
	if c.HTTP.Addr != "" || c.Database.URL != "" || c.Log.Format != "text" {
		t.Errorf("worker defaults wrong (it must not read HTTP_ADDR): %+v", c)
	}
	c, _, err = config.Load(nil, env(nil), config.API)
	if err != nil || c.Profile != "api" || c.HTTP.Addr != "127.0.0.1:8080" || c.Database.Target.Dialect != "sqlite" {
		t.Errorf("api defaults wrong: %+v %v", c, err)
	}
}

func TestPrecedenceFileEnvFlags(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "brisk.yaml")
	yaml := "app:\n  profile: web\ngoroutine:\n  min_workers: 5\n  max_workers: 50\n  queue_size: 77\nhttp:\n  addr: 127.0.0.1:7000\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, rest, err := config.Load(
		[]string{"--config", path, "--goroutine.max_workers=40", "serve", "extra"},
		env(map[string]string{"GOROUTINE_MAX_WORKERS": "45", "GOROUTINE_QUEUE_SIZE": "88"}), "api")
	if err != nil {
		t.Fatal(err)
	}
	web, _ := presets.Get("web")
	checks := []struct {
		name      string
		got, want any
	}{
		{"profile from file", c.Profile, "web"},
		{"file over profile", c.Pool.MinWorkers, 5},
		{"env over file", c.Pool.QueueSize, 88},
		{"flag over env", c.Pool.MaxWorkers, 40},
		{"file addr", c.HTTP.Addr, "127.0.0.1:7000"},
		{"profile default kept", c.Pool.IdleTimeout, web.IdleTimeout},
		{"positional args", strings.Join(rest, " "), "serve extra"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: got %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

// A setting's former name is refused, naming the new one, from the environment and from
// .env alike: silently ignoring it would run with the default.
func TestRenamedSettingsAreRefusedNamingTheNewName(t *testing.T) {
	t.Parallel()
	for _, in := range []config.Input{
		{App: config.Worker, Getenv: env(map[string]string{"JOBS_MAX_WORKERS": "20"})},
		{App: config.API, DotEnv: map[string]string{"JOBS_MAX_WORKERS": "20"}},
	} {
		_, err := config.Build(in)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Env != "JOBS_MAX_WORKERS" || !strings.Contains(err.Error(), "JOBS_CONCURRENCY") {
			t.Errorf("JOBS_MAX_WORKERS=20: err = %v, want a config error naming it and JOBS_CONCURRENCY", err)
		}
	}
	c, err := config.Build(config.Input{App: config.Worker, Getenv: env(map[string]string{"JOBS_CONCURRENCY": "20"})})
	if err != nil || c.Jobs.Concurrency != 20 {
		t.Fatalf("JOBS_CONCURRENCY=20: %v, concurrency %v", err, c)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env     map[string]string
		wantEnv string
	}{
		{map[string]string{"HTTP_ADDR": "nonsense"}, "HTTP_ADDR"},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "-1"}, "GOROUTINE_MIN_WORKERS"},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "many"}, "GOROUTINE_MIN_WORKERS"},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "9", "GOROUTINE_MAX_WORKERS": "3"}, "GOROUTINE_MIN_WORKERS"},
		{map[string]string{"APP_PROFILE": "turbo"}, "APP_PROFILE"},
		{map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://"}, "DATABASE_URL"},
		{map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL"},
		{map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
		{map[string]string{"GOROUTINE_IDLE_TIMEOUT": "10 minutes"}, "GOROUTINE_IDLE_TIMEOUT"},
		{map[string]string{"GOROUTINE_IDLE_TIMEOUT": "-5"}, "GOROUTINE_IDLE_TIMEOUT"},
		{map[string]string{"GOROUTINE_IDLE_TIMEOUT": "0"}, "GOROUTINE_IDLE_TIMEOUT"},
		{map[string]string{"CONTEXT_DEFAULT_TIMEOUT": "1m", "CONTEXT_MAX_TIMEOUT": "10s"}, "CONTEXT_DEFAULT_TIMEOUT"},
		{map[string]string{"CONTEXT_ENABLE_DEADLINE": "maybe"}, "CONTEXT_ENABLE_DEADLINE"},
		{map[string]string{"JWT_SECRET": "short"}, "JWT_SECRET"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "localhost:3000"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"DATABASE_AUTO_MIGRATE": "sometimes"}, "DATABASE_AUTO_MIGRATE"},
		{map[string]string{"DATABASE_BATCH_FINDS": "always"}, "DATABASE_BATCH_FINDS"},
		{map[string]string{"HTTP_MAX_BODY_BYTES": "10"}, "HTTP_MAX_BODY_BYTES"},
		{map[string]string{"CACHE_L1_SIZE": "-1"}, "CACHE_L1_SIZE"},
		{map[string]string{"CACHE_BROADCAST": "carrier-pigeon"}, "CACHE_BROADCAST"},
		{map[string]string{"CACHE_BROADCAST": "redis"}, "CACHE_BROADCAST"},
		{map[string]string{"CACHE_BROADCAST": "postgres"}, "CACHE_BROADCAST"},
		{map[string]string{"CACHE_BROADCAST": "postgres", "DATABASE_URL": "sqlite:///tmp/x.db"}, "CACHE_BROADCAST"},
	}
	for _, tc := range cases {
		_, _, err := config.Load(nil, env(tc.env), "api")
		var ce *config.Error
		if !errors.As(err, &ce) {
			t.Errorf("%v: want *config.Error, got %v", tc.env, err)
			continue
		}
		msg := err.Error()
		if ce.Env != tc.wantEnv || !strings.Contains(msg, tc.wantEnv) || !strings.Contains(msg, "allowed") ||
			strings.Contains(msg, "\n") || !strings.Contains(msg, ce.Value) {
			t.Errorf("%v: message %q must name %s, the value and what is allowed, on one line", tc.env, msg, tc.wantEnv)
		}
	}
}

func TestValidValues(t *testing.T) {
	t.Parallel()
	c, _, err := config.Load(nil, env(map[string]string{
		"DATABASE_URL":          "postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
		"REDIS_URL":             "redis://127.0.0.1:6379/0",
		"CORS_ALLOWED_ORIGINS":  "http://localhost:3000, https://app.example.com",
		"LOG_LEVEL":             "debug",
		"CONTEXT_MAX_TIMEOUT":   "1m",
		"GOROUTINE_MAX_WORKERS": "1000",
		"JWT_SECRET":            strings.Repeat("k", 32),
		"HTTP_ADDR":             ":0",
	}), "api")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.HTTP.CORSAllowedOrigins) != 2 || c.Context.MaxTimeout != time.Minute || c.Pool.MaxWorkers != 1000 {
		t.Errorf("values not applied: %+v", c)
	}
	if c.MigrateOnStart() {
		t.Error("auto migration must stay off for PostgreSQL")
	}
	c2, _, _ := config.Load(nil, env(nil), "api")
	if !c2.MigrateOnStart() {
		t.Error("auto migration must be on for the embedded SQLite")
	}
}

func TestUnknownFlagIsAnError(t *testing.T) {
	t.Parallel()
	if _, _, err := config.Load([]string{"--no-such-flag=1"}, env(nil), "api"); err == nil {
		t.Fatal("want an error for an unknown flag")
	}
}

var update = flag.Bool("update", false, "rewrite docs/configuration.md's generated table")

const (
	beginMarker = "<!-- BEGIN GENERATED: go test ./libs/config -update -->\n"
	endMarker   = "<!-- END GENERATED -->"
)

// TestDocsListEveryKey fails when docs/configuration.md is missing a key or its table is stale.
func TestDocsListEveryKey(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start, end := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if start < 0 || end < start {
		t.Fatalf("%s: generated-table markers missing", path)
	}
	want := config.Markdown()
	if *update {
		doc = doc[:start+len(beginMarker)] + want + doc[end:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := doc[start+len(beginMarker) : end]; got != want {
		t.Errorf("%s is stale: run `go test ./libs/config -update`", path)
	}
	for _, s := range config.Settings() {
		if !strings.Contains(doc, "`"+s.Env+"`") {
			t.Errorf("%s does not document %s", path, s.Env)
		}
	}
}

// The configuration block of the design document Brisk descends from, exactly as written
// there: durations as bare seconds. Both apps must start with it.
var designBlock = map[string]string{
	"GOROUTINE_MIN_WORKERS": "2", "GOROUTINE_MAX_WORKERS": "10", "GOROUTINE_QUEUE_SIZE": "1000", "GOROUTINE_IDLE_TIMEOUT": "60",
	"CONTEXT_DEFAULT_TIMEOUT": "30", "CONTEXT_MAX_TIMEOUT": "300", "CONTEXT_ENABLE_DEADLINE": "true",
	"MEMORY_POOL_SIZE": "100", "MEMORY_SLAB_SIZE": "1024", "MEMORY_CLEANUP_INTERVAL": "300",
	"PROFILE_SAMPLING_INTERVAL": "5", "PROFILE_OPTIMIZATION_INTERVAL": "60", "PROFILE_MAX_OPTIMIZATIONS": "10",
}

func TestTheDesignDocumentsBlockLoadsWithBareSeconds(t *testing.T) {
	t.Parallel()
	for _, app := range []config.App{config.API, config.Worker} {
		c, _, err := config.Load(nil, env(designBlock), app)
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		// MEMORY_* size the API's response-body pool; the worker ignores them.
		if app == config.API && (c.Memory.CleanupInterval != 5*time.Minute || c.Memory.PoolSize != 100 || c.Memory.SlabSize != 1024) {
			t.Errorf("api: MEMORY_* misread: %+v", c.Memory)
		}
		if c.Pool.IdleTimeout != time.Minute || c.Context.DefaultTimeout != 30*time.Second ||
			c.Context.MaxTimeout != 5*time.Minute ||
			c.Optimizer.SamplingInterval != 5*time.Second || c.Optimizer.OptimizationInterval != time.Minute ||
			c.Pool.MinWorkers != 2 || c.Pool.MaxWorkers != 10 || c.Optimizer.MaxOptimizations != 10 {
			t.Errorf("%s: the block was misread: %+v", app, c)
		}
	}
}

func TestEachAppValidatesOnlyWhatItReads(t *testing.T) {
	t.Parallel()
	apiOnly := map[string]string{"JWT_SECRET": "short", "HTTP_ADDR": "nonsense", "CORS_ALLOWED_ORIGINS": "localhost:3000"}
	if _, _, err := config.Load(nil, env(apiOnly), config.Worker); err != nil {
		t.Errorf("the worker refused settings it does not read: %v", err)
	}
	for k, v := range apiOnly {
		_, _, err := config.Load(nil, env(map[string]string{k: v}), config.API)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Env != k {
			t.Errorf("the API accepted %s=%q: %v", k, v, err)
		}
	}
	if _, _, err := config.Load([]string{"--http.addr=:1"}, env(nil), config.Worker); err == nil {
		t.Error("the worker accepted a flag for a setting it does not read")
	}
	if _, _, err := config.Load(nil, env(nil), "background"); err == nil {
		t.Error("Load accepted an unknown app")
	}
}

func TestCacheBroadcastResolvesAuto(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "local"},
		{map[string]string{"DATABASE_URL": "sqlite:///tmp/x.db"}, "local"},
		{map[string]string{"DATABASE_URL": "postgres://u@h:5432/db"}, "postgres"},
		{map[string]string{"DATABASE_URL": "postgres://u@h:5432/db", "REDIS_URL": "redis://h:6379/0"}, "redis"},
		{map[string]string{"REDIS_URL": "redis://h:6379/0"}, "redis"},
		{map[string]string{"DATABASE_URL": "postgres://u@h:5432/db", "REDIS_URL": "redis://h:6379/0", "CACHE_BROADCAST": "postgres"}, "postgres"},
		{map[string]string{"REDIS_URL": "redis://h:6379/0", "CACHE_BROADCAST": "off"}, "off"},
		{map[string]string{"REDIS_URL": "redis://h:6379/0", "CACHE_BROADCAST": "redis"}, "redis"},
	} {
		c, _, err := config.Load(nil, env(tc.env), "api")
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if got := c.CacheBroadcast(); got != tc.want {
			t.Errorf("%v: CacheBroadcast() = %q, want %q", tc.env, got, tc.want)
		}
	}
	c, _, err := config.Load(nil, env(map[string]string{"CACHE_L1_SIZE": "0"}), "api")
	if err != nil || c.Cache.L1Size != 0 {
		t.Fatalf("CACHE_L1_SIZE=0: %v %v", c.Cache.L1Size, err)
	}
	c, _, _ = config.Load(nil, env(nil), "api")
	if c.Cache.L1Size != 100_000 || c.Cache.Broadcast != "auto" {
		t.Fatalf("defaults: %d %q", c.Cache.L1Size, c.Cache.Broadcast)
	}
}

// TestDotEnvExampleIsCurrent fails when .env.example does not match the Settings table.
func TestDotEnvExampleIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", ".env.example")
	want := config.DotEnvExample()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is stale or missing (%v): run `go test ./libs/config -update`", path, err)
	}
	for _, s := range config.Settings() {
		if !strings.Contains(want, "# "+s.Env+"=") {
			t.Errorf(".env.example lacks %s", s.Env)
		}
	}
}

// ADMIN_ADDR=off turns the admin listener off, and only that word does: any address is kept as
// given, and an empty variable means the default address.
func TestAdminAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ value, want string }{
		{"off", ""},
		{"127.0.0.1:9191", "127.0.0.1:9191"},
		{":0", ":0"},
		{"", "127.0.0.1:9090"},
	} {
		c, _, err := config.Load(nil, env(map[string]string{"ADMIN_ADDR": tc.value}), "api")
		if err != nil {
			t.Errorf("ADMIN_ADDR=%q: %v", tc.value, err)
			continue
		}
		if c.AdminAddr != tc.want {
			t.Errorf("ADMIN_ADDR=%q gives AdminAddr %q, want %q", tc.value, c.AdminAddr, tc.want)
		}
	}
	for _, bad := range []string{"OFF", "nowhere", "127.0.0.1:65536", "127.0.0.1:-1"} {
		if _, _, err := config.Load(nil, env(map[string]string{"ADMIN_ADDR": bad}), "api"); !isErrorFor(err, "ADMIN_ADDR") {
			t.Errorf("ADMIN_ADDR=%q: got %v, want a *config.Error naming ADMIN_ADDR", bad, err)
		}
	}
}

// isErrorFor reports whether err is a *config.Error for the variable env.
func isErrorFor(err error, env string) bool {
	var ce *config.Error
	return errors.As(err, &ce) && ce.Env == env
}

// Each rule's edges: the last value allowed is accepted and kept, the first one refused is
// refused by name. Between two settings, equal values are allowed only where the rule says
// "at most" (a minimum equal to the maximum), never where it says "more than" (a rescue after
// exactly the job timeout would take a job still inside its timeout for lost).
func TestEdgesOfEachRule(t *testing.T) {
	t.Parallel()
	accepted := []struct {
		env   map[string]string
		check func(*config.Config) bool
	}{
		{map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/6"}, func(c *config.Config) bool { return c.RedisURL == "redis://127.0.0.1:6379/6" }},
		{map[string]string{"REDIS_URL": "rediss://cache.example.com:6380"}, func(c *config.Config) bool { return c.RedisURL == "rediss://cache.example.com:6380" }},
		{map[string]string{"JOBS_JOB_TIMEOUT": "30s", "JOBS_RESCUE_AFTER": "31s"}, func(c *config.Config) bool {
			return c.Jobs.JobTimeout == 30*time.Second && c.Jobs.RescueAfter == 31*time.Second
		}},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "7", "GOROUTINE_MAX_WORKERS": "7"}, func(c *config.Config) bool {
			return c.Pool.MinWorkers == 7 && c.Pool.MaxWorkers == 7
		}},
		{map[string]string{"CONTEXT_DEFAULT_TIMEOUT": "20s", "CONTEXT_MAX_TIMEOUT": "20s"}, func(c *config.Config) bool {
			return c.Context.DefaultTimeout == 20*time.Second && c.Context.MaxTimeout == 20*time.Second
		}},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "1", "GOROUTINE_QUEUE_SIZE": "1"}, func(c *config.Config) bool {
			return c.Pool.MinWorkers == 1 && c.Pool.QueueSize == 1
		}},
		{map[string]string{"MEMORY_POOL_SIZE": "0", "PROFILE_MAX_OPTIMIZATIONS": "0"}, func(c *config.Config) bool {
			return c.Memory.PoolSize == 0 && c.Optimizer.MaxOptimizations == 0
		}},
		{map[string]string{"HTTP_MAX_BODY_BYTES": "1024", "MEMORY_SLAB_SIZE": "1024"}, func(c *config.Config) bool {
			return c.HTTP.MaxBodyBytes == 1024 && c.Memory.SlabSize == 1024
		}},
		{map[string]string{"HTTP_ADDR": "127.0.0.1:65535"}, func(c *config.Config) bool { return c.HTTP.Addr == "127.0.0.1:65535" }},
		{map[string]string{"CPU_POOL_WORKERS": "off"}, func(c *config.Config) bool { return c.CPU.Inline && c.CPU.Workers == 0 }},
		{map[string]string{"CPU_POOL_WORKERS": "3"}, func(c *config.Config) bool { return !c.CPU.Inline && c.CPU.Workers == 3 }},
		{map[string]string{"JWT_SECRET": strings.Repeat("k", 32)}, func(c *config.Config) bool { return c.Auth.JWTSecret == strings.Repeat("k", 32) }},
		{map[string]string{"GOROUTINE_IDLE_TIMEOUT": "1ns"}, func(c *config.Config) bool { return c.Pool.IdleTimeout == time.Nanosecond }},
		{map[string]string{"DATABASE_PARALLEL_COUNT": "true", "CONTEXT_ENABLE_DEADLINE": "false"}, func(c *config.Config) bool {
			return c.Database.ParallelCount == "on" && !c.Context.EnableDeadline
		}},
		{map[string]string{"LOG_LEVEL": "WARNING"}, func(c *config.Config) bool { return c.Log.Level == slog.LevelWarn }},
		{map[string]string{"LOG_LEVEL": "error"}, func(c *config.Config) bool { return c.Log.Level == slog.LevelError }},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "*,https://app.example.com/"}, func(c *config.Config) bool {
			return strings.Join(c.HTTP.CORSAllowedOrigins, " ") == "* https://app.example.com/"
		}},
	}
	for _, tc := range accepted {
		c, _, err := config.Load(nil, env(tc.env), "api")
		if err != nil {
			t.Errorf("%v refused: %v", tc.env, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%v not applied as given: %+v", tc.env, c)
		}
	}

	refused := []struct {
		env     map[string]string
		wantEnv string
	}{
		{map[string]string{"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis://"}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis://%zz"}, "REDIS_URL"},
		{map[string]string{"JOBS_JOB_TIMEOUT": "30s", "JOBS_RESCUE_AFTER": "30s"}, "JOBS_RESCUE_AFTER"},
		{map[string]string{"JOBS_JOB_TIMEOUT": "30s", "JOBS_RESCUE_AFTER": "29s"}, "JOBS_RESCUE_AFTER"},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "8", "GOROUTINE_MAX_WORKERS": "7"}, "GOROUTINE_MIN_WORKERS"},
		{map[string]string{"CONTEXT_DEFAULT_TIMEOUT": "21s", "CONTEXT_MAX_TIMEOUT": "20s"}, "CONTEXT_DEFAULT_TIMEOUT"},
		{map[string]string{"GOROUTINE_MIN_WORKERS": "0"}, "GOROUTINE_MIN_WORKERS"},
		{map[string]string{"GOROUTINE_QUEUE_SIZE": "0"}, "GOROUTINE_QUEUE_SIZE"},
		{map[string]string{"MEMORY_POOL_SIZE": "-1"}, "MEMORY_POOL_SIZE"},
		{map[string]string{"CPU_POOL_WORKERS": "-1"}, "CPU_POOL_WORKERS"},
		{map[string]string{"CPU_POOL_WORKERS": "inline"}, "CPU_POOL_WORKERS"},
		{map[string]string{"HTTP_MAX_BODY_BYTES": "1023"}, "HTTP_MAX_BODY_BYTES"},
		{map[string]string{"MEMORY_SLAB_SIZE": "1023"}, "MEMORY_SLAB_SIZE"},
		{map[string]string{"HTTP_ADDR": "127.0.0.1:65536"}, "HTTP_ADDR"},
		{map[string]string{"HTTP_ADDR": "127.0.0.1:http"}, "HTTP_ADDR"},
		{map[string]string{"JWT_SECRET": strings.Repeat("k", 31)}, "JWT_SECRET"},
		{map[string]string{"GOROUTINE_IDLE_TIMEOUT": "0s"}, "GOROUTINE_IDLE_TIMEOUT"},
		{map[string]string{"GOROUTINE_IDLE_TIMEOUT": "-1s"}, "GOROUTINE_IDLE_TIMEOUT"},
		{map[string]string{"DATABASE_PARALLEL_COUNT": "yes"}, "DATABASE_PARALLEL_COUNT"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com/path"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "ftp://app.example.com"}, "CORS_ALLOWED_ORIGINS"},
		{map[string]string{"CORS_ALLOWED_ORIGINS": "https://"}, "CORS_ALLOWED_ORIGINS"},
	}
	for _, tc := range refused {
		_, _, err := config.Load(nil, env(tc.env), "api")
		if !isErrorFor(err, tc.wantEnv) {
			t.Errorf("%v: got %v, want a *config.Error naming %s", tc.env, err, tc.wantEnv)
		}
	}
}

// One value from each layer, and each is reported with its source.
func TestSourcesOfEveryLayer(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "brisk.yaml")
	if err := os.WriteFile(yamlPath, []byte("log:\n  format: json\ncache:\n  ttl: 2m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envPath := filepath.Join(dir, "test.env")
	dotenv := "# comment\nJOBS_CONCURRENCY=7\nexport CACHE_TTL=3m\nLOG_LEVEL=\"warn\"\n"
	if err := os.WriteFile(envPath, []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Load(
		[]string{"--config", yamlPath, "--env-file", envPath, "--http.addr=127.0.0.1:7001"},
		env(map[string]string{"LOG_LEVEL": "error", "APP_PROFILE": "web"}), config.API)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]config.Source{
		"http.addr":             config.FromFlag,
		"log.level":             config.FromEnv,     // env beats .env
		"app.profile":           config.FromEnv,     // env only
		"jobs.concurrency":      config.FromDotEnv,  // .env only
		"cache.ttl":             config.FromDotEnv,  // .env beats the file
		"log.format":            config.FromFile,    // file only
		"goroutine.max_workers": config.FromProfile, // differs between presets
		"jwt.ttl":               config.FromDefault, // the same everywhere
	}
	for k, src := range want {
		if c.Sources[k] != src {
			t.Errorf("%s: source %q, want %q (value %q)", k, c.Sources[k], src, c.Values[k])
		}
	}
	if c.HTTP.Addr != "127.0.0.1:7001" || c.Log.Level.String() != "ERROR" || c.Jobs.Concurrency != 7 ||
		c.Cache.TTL != 3*time.Minute || c.Log.Format != "json" || c.Profile != "web" {
		t.Errorf("values not applied: %+v", c)
	}
	if _, _, err := config.Load([]string{"--env-file", filepath.Join(dir, "missing.env")}, env(nil), config.API); err == nil {
		t.Error("a missing --env-file was accepted")
	}
}

// Without --env-file, ./.env is read when it exists, and the environment wins over it.
func TestDotEnvInWorkingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	c, _, err := config.Load(nil, env(nil), config.API)
	if err != nil || c.Sources["http.addr"] != config.FromDefault {
		t.Fatalf("no .env: %v %v", err, c.Sources["http.addr"])
	}
	if err := os.WriteFile(".env", []byte("HTTP_ADDR=127.0.0.1:7002\nJOBS_CONCURRENCY=3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err = config.Load(nil, env(map[string]string{"JOBS_CONCURRENCY": "4"}), config.API)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:7002" || c.Sources["http.addr"] != config.FromDotEnv || c.Jobs.Concurrency != 4 {
		t.Errorf(".env not read or not under the environment: %s %s %d", c.HTTP.Addr, c.Sources["http.addr"], c.Jobs.Concurrency)
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	t.Parallel()
	for _, s := range config.Settings() {
		switch s.Key {
		case "jwt.secret":
			if got := s.Masked(strings.Repeat("k", 40)); strings.Contains(got, "kkk") {
				t.Errorf("jwt.secret shown: %q", got)
			}
		case "database.url":
			got := s.Masked("postgres://u:hunter2@db:5432/x")
			if strings.Contains(got, "hunter2") || !strings.Contains(got, "db:5432") {
				t.Errorf("database.url masked wrong: %q", got)
			}
		}
	}
}

// A refusal with a reason says it between the value and what is allowed; one without says
// nothing there.
func TestErrorMessageCarriesTheReason(t *testing.T) {
	t.Parallel()
	_, _, err := config.Load(nil, env(map[string]string{"JWT_SECRET": "short"}), "api")
	want := `config: JWT_SECRET="short" is invalid: 5 characters is too short to sign tokens safely; allowed: empty, or at least 32 characters (key jwt.secret)`
	if err == nil || err.Error() != want {
		t.Errorf("message = %v\nwant      %s", err, want)
	}
	_, _, err = config.Load(nil, env(map[string]string{"LOG_FORMAT": "xml"}), "api")
	want = `config: LOG_FORMAT="xml" is invalid; allowed: text or json (key log.format)`
	if err == nil || err.Error() != want {
		t.Errorf("message = %v\nwant      %s", err, want)
	}
}
