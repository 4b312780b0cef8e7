package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/brisk-go/brisk/bench/http/limit"
)

// seeded is what the loads need to know about the seeded data.
type seeded struct {
	token    string // the reader: follows half the users, has favorited every third article
	slug     string // an article by a followed author
	followed string // a username the reader follows
}

// seededUsername is the name of seeded user i.
func seededUsername(i int) string { return fmt.Sprintf("bench_user_%03d", i) }

// seed fills an empty database through the API at base: users, follows, articles with three
// tags each, favorites. Everything goes through the public routes, so the API's own rules
// (slugs, counts, tag rows, events) make the rows every server then reads.
func seed(ctx context.Context, base string, users, articles int) (*seeded, error) {
	c := &client{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	tokens := make([]string, users)
	names := make([]string, users)
	if err := parallel(ctx, users, 4, func(i int) error {
		names[i] = seededUsername(i)
		var out struct {
			User struct {
				Token string `json:"token"`
			} `json:"user"`
		}
		err := c.do(ctx, http.MethodPost, "/api/users", "", map[string]any{"user": map[string]string{
			"username": names[i], "email": names[i] + "@bench.example", "password": "bench-password-" + names[i],
		}}, &out)
		tokens[i] = out.User.Token
		return err
	}); err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	// The reader (user 0) follows users 1 .. users/2; nobody else follows anyone.
	for i := 1; i <= users/2; i++ {
		if err := c.do(ctx, http.MethodPost, "/api/profiles/"+names[i]+"/follow", tokens[0], nil, nil); err != nil {
			return nil, fmt.Errorf("seed follows: %w", err)
		}
	}
	tags := []string{"go", "postgres", "sqlite", "http", "cache", "jobs", "pgo", "bench", "gin", "bun"}
	slugs := make([]string, articles)
	if err := parallel(ctx, articles, 4, func(i int) error {
		author := 1 + i%(users-1)
		var out struct {
			Article struct {
				Slug string `json:"slug"`
			} `json:"article"`
		}
		err := c.do(ctx, http.MethodPost, "/api/articles", tokens[author], map[string]any{"article": map[string]any{
			"title":       fmt.Sprintf("Benchmark article number %d", i),
			"description": fmt.Sprintf("What article %d is about, in one line", i),
			"body":        strings.Repeat(fmt.Sprintf("Paragraph of article %d. ", i), 40),
			"tagList":     []string{tags[i%10], tags[(i+3)%10], tags[(i+7)%10]},
		}}, &out)
		slugs[i] = out.Article.Slug
		return err
	}); err != nil {
		return nil, fmt.Errorf("seed articles: %w", err)
	}
	for i := 0; i < articles; i += 3 {
		if err := c.do(ctx, http.MethodPost, "/api/articles/"+slugs[i]+"/favorite", tokens[0], nil, nil); err != nil {
			return nil, fmt.Errorf("seed favorites: %w", err)
		}
	}
	return &seeded{token: tokens[0], slug: slugs[0], followed: names[1]}, nil
}

// parallel runs f(0..n-1) on width goroutines; the first error wins.
func parallel(ctx context.Context, n, width int, f func(i int) error) error {
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, width)
	for w := 0; w < width; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	go func() { // drain what the feed left, so no worker blocks on it
		for n := range next {
			_ = n
		}
	}()
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	if e, ok := <-errs; ok {
		return e
	}
	return nil
}

type client struct {
	base string
	http *http.Client
}

// do sends a JSON request and decodes a 2xx JSON answer into out (when not nil).
func (c *client) do(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below; a close error loses nothing
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// serveLimit is the limit server's process: --db URL, --secret KEY, address in LIMIT_ADDR.
func serveLimit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("limit-serve", flag.ContinueOnError)
	dbURL := fs.String("db", "", "PostgreSQL URL")
	conns := fs.Int("conns", 4*runtime.GOMAXPROCS(0), "pool size")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	secret := os.Getenv("JWT_SECRET")
	addr := os.Getenv("LIMIT_ADDR")
	if *dbURL == "" || secret == "" || addr == "" {
		return errors.New("need --db, JWT_SECRET and LIMIT_ADDR")
	}
	cfg, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		return fmt.Errorf("parse --db: %w", err)
	}
	cfg.MaxConns = int32(*conns)
	cfg.MinConns = int32(*conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	return limit.New(pool, []byte(secret)).Serve(ctx, addr)
}
