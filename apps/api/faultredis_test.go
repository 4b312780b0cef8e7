package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/brisk-go/brisk/apps/api/internal/faultproxy"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// faultRedisDB is the Redis database the Redis fault test owns: it is emptied at the start,
// so that no value cached by another run (of another database) can be read as stale.
const faultRedisDB = "13"

// faultRedisURL returns TEST_REDIS_URL moved to faultRedisDB and emptied. Without
// TEST_REDIS_URL the test is skipped, or failed when BRISK_REQUIRE_REDIS is set (CI).
func faultRedisURL(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv("TEST_REDIS_URL")
	if raw == "" {
		if os.Getenv("BRISK_REQUIRE_REDIS") != "" {
			t.Fatal("TEST_REDIS_URL is not set and BRISK_REQUIRE_REDIS is")
		}
		t.Skip("set TEST_REDIS_URL for the Redis fault test")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	u.Path = "/" + faultRedisDB
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("empty Redis database %s: %v", faultRedisDB, err)
	}
	return u
}

// span is one fault's time on the clock, for the latency of the reads it covered.
type span struct {
	name       string
	start, end time.Time
}

// read is one read of the load: when it began and what it got.
type read struct {
	at time.Time
	reply
}

// The API with its cache on Redis (an in-process L1 in front of Redis, invalidations over
// Redis pub/sub) and its login throttle on Redis, all through a fault-injecting proxy, under a
// bounded concurrent load of anonymous reads (served from the cache), article updates and
// creations, and logins: Redis is cut, paused and slowed in turn. On PostgreSQL two instances
// share the database and the Redis (writes through one, reads through both); on SQLite one
// instance does everything. Throughout: no request fails (the cache falls back to the
// database; any 5xx would have to carry its one ERROR line), /readyz stays 200 (Redis is not
// part of readiness), each fault's broadcast loss and recovery is logged and counted. After
// it: every acknowledged write is there, no instance serves a value older than the last
// acknowledged write, the L1 is used again, and the processes stop cleanly. The reads'
// latency during each fault is logged, not asserted (docs/operations.md records it).
func TestFaultsUnderLoadRedis(t *testing.T) {
	redisURL := faultRedisURL(t)
	proxy, err := faultproxy.Start(redisURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	redisURL.Host = proxy.Addr()

	env := func() map[string]string {
		return map[string]string{
			"DATABASE_URL":                   "",
			"DATABASE_AUTO_MIGRATE":          "true",
			"JOBS_IN_PROCESS":                "false",
			"HTTP_ADDR":                      "127.0.0.1:0",
			"ADMIN_ADDR":                     "127.0.0.1:0",
			"JWT_SECRET":                     strings.Repeat("r", 32),
			"REDIS_URL":                      redisURL.String(),
			"CACHE_TTL":                      "10m",
			"LOGIN_MAX_FAILURES_PER_ACCOUNT": "1000",
			"LOGIN_MAX_FAILURES_PER_ADDRESS": "1000",
		}
	}
	db, dbURL := datatest.NewWithURL(t)
	var apis []*faultAPI
	instances := 1
	if datatest.Dialect() == "postgres" {
		instances = 2
	}
	for range instances {
		e := env()
		e["DATABASE_URL"] = dbURL
		// One after the other: each cache binds its metrics to the provider its process's
		// telemetry has just installed.
		a := startFaultAPI(t, e)
		a.waitStatus("/readyz", http.StatusOK, "start")
		apis = append(apis, a)
	}
	writer := apis[0]
	token := writer.register("writer")
	// Its password hashed at bcrypt's lowest cost, as seeding does: a login then costs
	// milliseconds, not seconds under -race, and the faults need not outlast it.
	cheap, err := bcrypt.GenerateFromPassword([]byte("password1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewRaw("UPDATE users SET password_hash = ? WHERE username = 'writer'", string(cheap)).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	const writers = 3
	slugs := make([]string, writers)
	for w := range slugs {
		r := writer.call("POST", "/api/articles", token, map[string]any{"article": map[string]any{
			"title": fmt.Sprintf("owned %d", w), "description": "d", "body": "v-1", "tagList": []string{fmt.Sprintf("owned%d", w)},
		}})
		if r.status != http.StatusCreated {
			t.Fatalf("create article: %d %s", r.status, r.body)
		}
		slugs[w] = slugOf(r.body)
	}

	// One article per fault, cached on every instance before it and updated once while it
	// lasts, never again: after the fault every instance must serve that update. (The load's
	// own updates go on after each fault and would hide an invalidation the fault lost.)
	sentinels := map[string]string{}
	for _, name := range []string{"cut", "pause", "slow"} {
		r := writer.call("POST", "/api/articles", token, map[string]any{"article": map[string]any{
			"title": "sentinel " + name, "description": "d", "body": "before", "tagList": []string{},
		}})
		if r.status != http.StatusCreated {
			t.Fatalf("create article: %d %s", r.status, r.body)
		}
		sentinels[name] = slugOf(r.body)
		for _, a := range apis {
			for range 2 {
				a.call("GET", "/api/articles/"+sentinels[name], "", nil)
			}
		}
	}

	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var mu sync.Mutex
	var results []outcome // every request of the load
	var reads []read
	// Per writer: the body of its last acknowledged update, and those sent after it without
	// an answer (any of them may be what the database holds).
	lastAcked := make([]string, writers)
	unacked := make([][]string, writers)
	created := map[string]string{} // acknowledged creations: slug → tag
	record := func(r reply) {
		mu.Lock()
		results = append(results, outcomeOf(r))
		mu.Unlock()
	}
	var wg sync.WaitGroup
	// Writers: each updates its own article (so "the last acknowledged write" is defined)
	// and every fourth time creates one with a new tag; at most 80 rounds each.
	for w := range writers {
		lastAcked[w] = "v-1"
		wg.Go(func() {
			for i := 0; i < 80 && loadCtx.Err() == nil; i++ {
				body := fmt.Sprintf("v%d", i)
				r := writer.call("PUT", "/api/articles/"+slugs[w], token, map[string]any{"article": map[string]any{"body": body}})
				record(r)
				mu.Lock()
				if r.status == http.StatusOK {
					lastAcked[w], unacked[w] = body, nil
				} else {
					unacked[w] = append(unacked[w], body)
				}
				mu.Unlock()
				if i%4 == 0 {
					tag := fmt.Sprintf("w%di%d", w, i)
					r := writer.call("POST", "/api/articles", token, map[string]any{"article": map[string]any{
						"title": "new " + tag, "description": "d", "body": "b", "tagList": []string{tag},
					}})
					record(r)
					if r.status == http.StatusCreated {
						mu.Lock()
						created[slugOf(r.body)] = tag
						mu.Unlock()
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	// Readers: anonymous reads of the owned articles and the tag list, the cached routes,
	// on every instance; at most 1500 each.
	for g := range 4 {
		wg.Go(func() {
			for i := 0; i < 1500 && loadCtx.Err() == nil; i++ {
				a := apis[(g+i)%len(apis)]
				path := "/api/articles/" + slugs[i%writers]
				if i%5 == 4 {
					path = "/api/tags"
				}
				at := time.Now()
				r := a.call("GET", path, "", nil)
				record(r)
				mu.Lock()
				reads = append(reads, read{at: at, reply: r})
				mu.Unlock()
				time.Sleep(8 * time.Millisecond)
			}
		})
	}
	// Logins (the throttle's counts are in Redis): right and wrong passwords, at most 60.
	logins := map[int]int{}
	wg.Go(func() {
		for i := 0; i < 60 && loadCtx.Err() == nil; i++ {
			password := "password1"
			if i%2 == 1 {
				password = "wrong-password"
			}
			a := apis[i%len(apis)]
			r := a.call("POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "writer@example.com", "password": password}})
			record(r)
			mu.Lock()
			logins[r.status]++
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
	})

	// While a fault lasts, /readyz is sampled on every instance: Redis is not part of it.
	var readyz []int
	sampleReady := func() {
		for _, a := range apis {
			readyz = append(readyz, a.call("GET", "/readyz", "", nil).status)
		}
	}
	// waitLogs waits (at most 20s) until every instance has logged at least n lines
	// starting with prefix.
	waitLogs := func(prefix string, n int, what string) {
		t.Helper()
		for i, a := range apis {
			for deadline := time.Now().Add(20 * time.Second); a.countLogs(prefix) < n; {
				if time.Now().After(deadline) {
					t.Fatalf("%s: instance %d logged %q %d times within 20s, want %d", what, i, prefix, a.countLogs(prefix), n)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	const lost, back = "cache: broadcast connection lost", "cache: broadcast connection back"
	var spans []span
	fault := func(name string, m faultproxy.Mode, hold time.Duration, until func()) {
		t.Helper()
		s := span{name: name, start: time.Now()}
		proxy.Set(m)
		sampleReady()
		if until != nil {
			until()
		}
		t.Logf("%s: noticed after %v", name, time.Since(s.start).Round(time.Millisecond))
		if r := writer.call("PUT", "/api/articles/"+sentinels[name], token, map[string]any{"article": map[string]any{"body": "during " + name}}); r.status != http.StatusOK {
			t.Errorf("update during the %s: %d %s", name, r.status, r.body)
		}
		// A login waits on the throttle's Redis: it is admitted, and (unless Redis is merely
		// slow) the throttle says it could not ask.
		warned := writer.countLogs("login throttle unavailable")
		r := writer.call("POST", "/api/users/login", "", map[string]any{"user": map[string]any{"email": "writer@example.com", "password": "password1"}})
		if r.status != http.StatusOK {
			t.Errorf("login during the %s: %d %s", name, r.status, r.body)
		}
		if m != faultproxy.Slow && writer.countLogs("login throttle unavailable") == warned {
			t.Errorf("a login during the %s logged no WARN \"login throttle unavailable\"", name)
		}
		t.Logf("%s: login answered %d in %v", name, r.status, r.latency.Round(time.Millisecond))
		for time.Since(s.start) < hold {
			time.Sleep(100 * time.Millisecond)
			sampleReady()
		}
		proxy.Set(faultproxy.Pass)
		s.end = time.Now()
		spans = append(spans, s)
		t.Logf("%s lasted %v", name, s.end.Sub(s.start).Round(time.Millisecond))
	}

	time.Sleep(500 * time.Millisecond)
	// Cut: every connection closed, new ones refused. The subscription ends at once.
	fault("cut", faultproxy.Cut, 1500*time.Millisecond, func() { waitLogs(lost, 1, "cut") })
	waitLogs(back, 1, "after the cut")
	time.Sleep(300 * time.Millisecond)
	// Pause: connections open but silent. Commands time out; the subscription is pinged after
	// a quiet second and taken for lost a second later.
	fault("pause", faultproxy.Pause, 2500*time.Millisecond, func() { waitLogs(lost, 2, "pause") })
	waitLogs(back, 2, "after the pause")
	time.Sleep(300 * time.Millisecond)
	// Slow: every chunk delayed 50 ms each way, under the cache's 250 ms timeout.
	fault("slow", faultproxy.Slow, 1500*time.Millisecond, nil)
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	wg.Wait()

	// Nothing failed: the cache's faults are served from the database. (A 5xx, were there
	// one, must carry its one ERROR line.)
	checkFailuresLogged(t, results, nil, apis...)
	statuses := map[int]int{}
	for _, o := range results {
		statuses[o.status]++
	}
	t.Logf("%d requests, by status %v; logins by status %v", len(results), statuses, logins)
	for code := range statuses {
		if code >= 500 {
			t.Errorf("%d requests answered %d during Redis faults; the cache should fall back to the database", statuses[code], code)
		}
	}
	for _, code := range readyz {
		if code != http.StatusOK {
			t.Errorf("/readyz answered %d during a Redis fault; Redis is not part of readiness (samples %v)", code, readyz)
			break
		}
	}
	if len(readyz) == 0 {
		t.Error("/readyz was not sampled during the faults")
	}
	if logins[http.StatusOK] == 0 {
		t.Error("no login succeeded: the login load did not run")
	}
	throttleWarned := 0
	for _, a := range apis {
		throttleWarned += a.countLogs("login throttle")
	}
	t.Logf("login throttle WARN lines: %d", throttleWarned)
	warnings := map[string]int{} // what an operator sees, for docs/operations.md
	for _, a := range apis {
		for _, l := range a.logs.records() {
			if l["level"] == "WARN" || l["level"] == "ERROR" {
				msg, _ := l["msg"].(string)
				warnings[fmt.Sprintf("%s %.60s", l["level"], msg)]++
			}
		}
	}
	t.Logf("WARN and ERROR lines by message: %v", warnings)
	for line, n := range warnings {
		// Every ERROR line is a 5xx's, and there is none: the cache's failures are WARNs.
		if strings.HasPrefix(line, "ERROR") {
			t.Errorf("%d lines %q during Redis faults that failed no request", n, line)
		}
	}

	// The reads' latency, by fault (logged for docs/operations.md, not asserted).
	for _, s := range append([]span{{name: "none"}}, spans...) {
		var ds []time.Duration
		for _, r := range reads {
			in := !r.at.Before(s.start) && r.at.Before(s.end)
			if s.name == "none" {
				in = !slices.ContainsFunc(spans, func(f span) bool { return !r.at.Before(f.start) && r.at.Before(f.end) })
			}
			if in {
				ds = append(ds, r.latency)
			}
		}
		t.Logf("reads during %-5s: %4d, p50 %v, p99 %v, max %v", s.name, len(ds), percentile(ds, 50), percentile(ds, 99), percentile(ds, 100))
	}

	// Recovery: each instance lost its broadcast twice (cut, pause) and got it back each time,
	// in its log and in its metrics.
	for i, a := range apis {
		if n := a.metric("brisk_cache_broadcast_resets_total", `reason="reconnected"`); n < 2 {
			t.Errorf("instance %d: brisk_cache_broadcast_resets_total{reason=\"reconnected\"} = %v, want at least 2", i, n)
		}
		if n := a.metric("brisk_cache_broadcast_resets_total", `reason="lost"`); n < 2 {
			t.Errorf("instance %d: brisk_cache_broadcast_resets_total{reason=\"lost\"} = %v, want at least 2", i, n)
		}
	}

	// Every acknowledged write is there, and no instance serves an older value: each read
	// twice (the second from the cache).
	accept := make([][]string, writers)
	for w := range writers {
		accept[w] = append([]string{lastAcked[w]}, unacked[w]...)
	}
	// Recovery is asynchronous: the writer replays the deletes it lost on its next Redis call,
	// then every instance is told to drop its in-process level (on the next publish or the
	// next broadcast heartbeat). Wait, bounded, until every instance serves every acknowledged
	// write, and report how long that took; the checks below then fail on anything still stale.
	fresh := func(a *faultAPI) bool {
		for w, slug := range slugs {
			var got struct {
				Article struct{ Body string } `json:"article"`
			}
			r := a.call("GET", "/api/articles/"+slug, "", nil)
			if json.Unmarshal(r.body, &got) != nil || r.status != http.StatusOK || !slices.Contains(accept[w], got.Article.Body) {
				return false
			}
		}
		var got struct{ Tags []string }
		if json.Unmarshal(a.call("GET", "/api/tags", "", nil).body, &got) != nil {
			return false
		}
		for _, tag := range created {
			if !slices.Contains(got.Tags, tag) {
				return false
			}
		}
		return true
	}
	settleStart := time.Now()
	for deadline := settleStart.Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !slices.ContainsFunc(apis, func(a *faultAPI) bool { return !fresh(a) }) {
			break
		}
	}
	t.Logf("every instance served every acknowledged write %s after the last fault ended", time.Since(settleStart).Round(time.Millisecond))
	for i, a := range apis {
		for round := range 2 {
			for w, slug := range slugs {
				r := a.call("GET", "/api/articles/"+slug, "", nil)
				var got struct {
					Article struct{ Body string } `json:"article"`
				}
				_ = json.Unmarshal(r.body, &got)
				if r.status != http.StatusOK || !slices.Contains(accept[w], got.Article.Body) {
					t.Errorf("instance %d, read %d of %s: %d body %q, want one of %v (the last acknowledged update, or one sent after it)",
						i, round+1, slug, r.status, got.Article.Body, accept[w])
				}
			}
			r := a.call("GET", "/api/tags", "", nil)
			var got struct{ Tags []string }
			_ = json.Unmarshal(r.body, &got)
			for slug, tag := range created {
				if !slices.Contains(got.Tags, tag) {
					t.Errorf("instance %d, read %d: tag %q of acknowledged article %s missing from /api/tags (%d tags)", i, round+1, tag, slug, len(got.Tags))
				}
			}
		}
		for slug := range created {
			if r := a.call("GET", "/api/articles/"+slug, "", nil); r.status != http.StatusOK {
				t.Errorf("instance %d: acknowledged article %s: GET %d %s", i, slug, r.status, r.body)
			}
		}
	}
	if len(created) == 0 {
		t.Error("no creation was acknowledged: the write load did not run")
	}
	for name, slug := range sentinels {
		for i, a := range apis {
			for round := range 2 {
				r := a.call("GET", "/api/articles/"+slug, "", nil)
				var got struct {
					Article struct{ Body string } `json:"article"`
				}
				_ = json.Unmarshal(r.body, &got)
				if r.status != http.StatusOK || got.Article.Body != "during "+name {
					t.Errorf("instance %d, read %d of the article updated during the %s: %d body %q, want %q", i, round+1, name, r.status, got.Article.Body, "during "+name)
				}
			}
		}
	}

	// The cache is used again: a new article read three times on each instance is a hit in
	// the L1 (in use only while the broadcast is up) with no Redis error.
	r := writer.call("POST", "/api/articles", token, map[string]any{"article": map[string]any{"title": "after", "description": "d", "body": "b", "tagList": []string{}}})
	if r.status != http.StatusCreated {
		t.Fatalf("create after the faults: %d %s", r.status, r.body)
	}
	after := slugOf(r.body)
	for i, a := range apis {
		hits := a.metric("brisk_cache_hits_total", `driver="l1"`)
		errs := a.metric("brisk_cache_errors_total", `driver="redis"`)
		for range 3 {
			a.call("GET", "/api/articles/"+after, "", nil)
		}
		if got := a.metric("brisk_cache_hits_total", `driver="l1"`); got < hits+1 {
			t.Errorf("instance %d: no L1 hit after the faults (brisk_cache_hits_total{driver=\"l1\"} %v → %v)", i, hits, got)
		}
		if got := a.metric("brisk_cache_errors_total", `driver="redis"`); got != errs {
			t.Errorf("instance %d: Redis errors after the faults (brisk_cache_errors_total{driver=\"redis\"} %v → %v)", i, errs, got)
		}
	}

	// The processes are up; then they stop cleanly.
	for i, a := range apis {
		if r := a.call("GET", "/healthz", "", nil); r.status != http.StatusOK {
			t.Errorf("instance %d: /healthz %d after the faults", i, r.status)
		}
	}
	for _, a := range apis {
		a.stop()
	}
}
