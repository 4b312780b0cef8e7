package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// The embedded default is the whole system: the API process works the jobs its writes cause.
// Publishing an article notifies the author's followers and counts its tags.
func TestServeRunsTheJobsOfItsWrites(t *testing.T) {
	url := datatest.URL(t)
	w, logs := logLines(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, envOf(map[string]string{
			"DATABASE_URL":          url,
			"DATABASE_AUTO_MIGRATE": "true",
			"JOBS_IN_PROCESS":       "true", // the default on SQLite; PostgreSQL runs needs it said
			"HTTP_ADDR":             "127.0.0.1:0",
			"ADMIN_ADDR":            "127.0.0.1:0",
			"LOG_FORMAT":            "json",
			"JWT_SECRET":            strings.Repeat("s", 32),
		}), w)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	addr := waitFor(t, logs, "listening")["addr"].(string)
	call := func(method, path, token string, body any) map[string]any {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	token := func(name string) string {
		m := call("POST", "/api/users", "", map[string]any{"user": map[string]any{"username": name, "email": name + "@example.com", "password": "password1"}})
		return m["user"].(map[string]any)["token"].(string)
	}
	author, fan := token("author"), token("fan")
	call("POST", "/api/profiles/author/follow", fan, nil)
	call("POST", "/api/articles", author, map[string]any{"article": map[string]any{"title": "Hello", "description": "d", "body": "b", "tagList": []string{"go"}}})

	db, err := data.Open(ctx, data.Options{URL: url, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var notes, counts int
		if err := db.NewRaw("SELECT count(*) FROM notifications").Scan(ctx, &notes); err != nil {
			t.Fatal(err)
		}
		if err := db.NewRaw("SELECT count(*) FROM tag_counts WHERE tag = 'go' AND articles = 1").Scan(ctx, &counts); err != nil {
			t.Fatal(err)
		}
		if notes == 1 && counts == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d notifications, %d tag counts", notes, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
