package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data/datatest"
)

// instance is one API server of a scaled-out deployment, serving on its own port with its own
// in-process cache.
type instance struct {
	t    *testing.T
	base string
}

func startInstance(t *testing.T, env map[string]string) *instance {
	t.Helper()
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, envOf(env), w) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("instance stopped with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("instance did not stop")
		}
	})
	addr := waitFor(t, logs, "listening")["addr"].(string)
	return &instance{t: t, base: "http://" + addr + "/api"}
}

func (in *instance) do(method, path, token string, body any) (int, map[string]any) {
	in.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.base+path, rd)
	if err != nil {
		in.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// eventually polls read on b until ok says the write is visible there, and returns how long
// that took. The bound is generous for a loaded 2-core CI machine; the lag is logged and
// the cache exports it (brisk.cache.broadcast.lag).
func eventually(t *testing.T, what string, read func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !read() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: still stale on the other instance after 5s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	lag := time.Since(start)
	t.Logf("%s visible on the other instance after %v", what, lag)
	return lag
}

// Two instances on one PostgreSQL: a write through one is never served stale by the other
// beyond the broadcast's delay — without Redis (LISTEN/NOTIFY) and with it (pub/sub, with
// Redis as the shared second level).
func TestTwoInstancesServeNoStaleReads(t *testing.T) {
	if os.Getenv(datatest.EnvPostgres) == "" {
		t.Skip("needs TEST_DATABASE_URL: the broadcast runs between instances on PostgreSQL")
	}
	modes := map[string]string{"postgres": ""}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		modes["redis"] = u
	}
	for mode, redisURL := range modes {
		t.Run(mode, func(t *testing.T) {
			url := datatest.URL(t)
			env := map[string]string{
				"DATABASE_URL": url, "DATABASE_AUTO_MIGRATE": "true", "JOBS_IN_PROCESS": "false",
				"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "off", "LOG_FORMAT": "json",
				"JWT_SECRET": strings.Repeat("k", 32), "CACHE_TTL": "10m", "REDIS_URL": redisURL,
			}
			a := startInstance(t, env)
			b := startInstance(t, env)

			_, reg := a.do("POST", "/users", "", map[string]any{"user": map[string]any{"username": "ann", "email": "ann@example.com", "password": "password1"}})
			token := reg["user"].(map[string]any)["token"].(string)
			_, reg2 := a.do("POST", "/users", "", map[string]any{"user": map[string]any{"username": "bob", "email": "bob@example.com", "password": "password1"}})
			bob := reg2["user"].(map[string]any)["token"].(string)
			_, art := a.do("POST", "/articles", token, map[string]any{"article": map[string]any{"title": "Coherent", "description": "v1", "body": "b", "tagList": []string{"one"}}})
			slug := art["article"].(map[string]any)["slug"].(string)

			article := func() map[string]any {
				code, m := b.do("GET", "/articles/"+slug, "", nil)
				if code != http.StatusOK {
					return nil
				}
				return m["article"].(map[string]any)
			}
			tags := func() []any { _, m := b.do("GET", "/tags", "", nil); l, _ := m["tags"].([]any); return l }
			profile := func() map[string]any {
				_, m := b.do("GET", "/profiles/ann", "", nil)
				p, _ := m["profile"].(map[string]any)
				return p
			}
			total := func(path, token string) any { _, m := b.do("GET", path, token, nil); return m["articlesCount"] }
			// ann's account as b resolves it for her signed-in requests (cached by b).
			me := func() map[string]any {
				_, m := b.do("GET", "/user", token, nil)
				u, _ := m["user"].(map[string]any)
				return u
			}
			// Fill b's cache with what it will have to drop.
			eventually(t, "the new article", func() bool { return article() != nil })
			eventually(t, "the first tag", func() bool { return fmt.Sprint(tags()) == "[one]" })
			eventually(t, "the listing's total", func() bool { return total("/articles", "") == float64(1) })
			_ = profile()
			_ = me()
			_ = total("/articles/feed", bob)

			a.do("PUT", "/articles/"+slug, token, map[string]any{"article": map[string]any{"description": "v2"}})
			eventually(t, "article update", func() bool { return article()["description"] == "v2" })

			a.do("POST", "/articles/"+slug+"/favorite", bob, nil)
			eventually(t, "favorite count", func() bool { return article()["favoritesCount"] == float64(1) })

			a.do("PUT", "/user", token, map[string]any{"user": map[string]any{"bio": "changed"}})
			eventually(t, "profile change", func() bool { return profile()["bio"] == "changed" })
			eventually(t, "the account on the other instance", func() bool { return me()["bio"] == "changed" })
			eventually(t, "the author in the article", func() bool {
				au, _ := article()["author"].(map[string]any)
				return au["bio"] == "changed"
			})

			a.do("POST", "/profiles/ann/follow", bob, nil)
			eventually(t, "follow", func() bool {
				_, m := b.do("GET", "/profiles/ann", bob, nil)
				p, _ := m["profile"].(map[string]any)
				return p["following"] == true
			})
			eventually(t, "the feed's total after the follow", func() bool { return total("/articles/feed", bob) == float64(1) })

			a.do("POST", "/articles", token, map[string]any{"article": map[string]any{"title": "Second", "description": "d", "body": "b", "tagList": []string{"two"}}})
			eventually(t, "tag list", func() bool { return fmt.Sprint(tags()) == "[one two]" })
			eventually(t, "the listing's total after a create", func() bool { return total("/articles", "") == float64(2) })

			a.do("DELETE", "/articles/"+slug, token, nil)
			eventually(t, "article delete", func() bool { return article() == nil })
			eventually(t, "the listing's total after a delete", func() bool { return total("/articles", "") == float64(1) })
		})
	}
}
