package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brisk-go/brisk/libs/perfcore/events"
	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

type ArticleCreated struct{ Slug string }

// goRunner stands in for the perfcore pool: anything with Go(func()) error.
type goRunner struct{ wg sync.WaitGroup }

func (r *goRunner) Go(f func()) error {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); f() }()
	return nil
}

func Example() {
	d, err := events.New[ArticleCreated](events.Config{
		Name:           "article.created",
		DefaultTimeout: 5 * time.Second,  // CONTEXT_DEFAULT_TIMEOUT
		MaxTimeout:     30 * time.Second, // CONTEXT_MAX_TIMEOUT
		EnableDeadline: true,             // CONTEXT_ENABLE_DEADLINE
		Runner:         &goRunner{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan struct{})
	_ = d.Listen("invalidate-cache", func(_ context.Context, e ArticleCreated) error {
		fmt.Println("sync: invalidate", e.Slug)
		return nil
	})
	_ = d.Listen("notify-followers", func(_ context.Context, e ArticleCreated) error {
		defer close(done)
		fmt.Println("async: notify followers of", e.Slug)
		return nil
	}, events.Async())

	if err := d.Dispatch(context.Background(), ArticleCreated{Slug: "hello"}); err != nil {
		fmt.Println(err)
	}
	<-done
	_ = d.Close(context.Background())
	// Output:
	// sync: invalidate hello
	// async: notify followers of hello
}

func ExampleNew() {
	_, err := events.New[ArticleCreated](events.Config{DefaultTimeout: time.Minute, MaxTimeout: time.Second})
	fmt.Println(err)
	d, _ := events.New[ArticleCreated](events.Config{})
	fmt.Println(d.Name())
	// Output:
	// events: new dispatcher: default timeout 1m0s exceeds max timeout 1s
	// events_test.ArticleCreated
}

func ExampleDispatcher_Name() {
	d, _ := events.New[ArticleCreated](events.Config{Name: "article.created"})
	fmt.Println(d.Name())
	// Output: article.created
}

func ExampleDispatcher_Listen() {
	d, _ := events.New[ArticleCreated](events.Config{})
	nop := func(context.Context, ArticleCreated) error { return nil }
	fmt.Println(d.Listen("index", nop))
	fmt.Println(d.Listen("index", nop))
	fmt.Println(d.Listen("mail", nop, events.Async()))
	// Output:
	// <nil>
	// events: listen "index" on events_test.ArticleCreated: name already registered
	// events: listen "mail" on events_test.ArticleCreated: async listener needs Config.Runner
}

func ExampleDispatcher_Dispatch() {
	d, _ := events.New[ArticleCreated](events.Config{Name: "article.created"})
	_ = d.Listen("broken", func(context.Context, ArticleCreated) error { panic("bug") })
	_ = d.Listen("audit", func(_ context.Context, e ArticleCreated) error {
		fmt.Println("audit", e.Slug)
		return nil
	})
	err := d.Dispatch(context.Background(), ArticleCreated{Slug: "hello"})
	var le *events.ListenerError
	if errors.As(err, &le) {
		fmt.Println(le.Listener, le.Kind)
	}
	// Output:
	// audit hello
	// broken panic
}

func ExampleDispatcher_DispatchBatch() {
	d, _ := events.New[ArticleCreated](events.Config{})
	_ = d.Listen("print", func(_ context.Context, e ArticleCreated) error {
		fmt.Println(e.Slug)
		return nil
	})
	_ = d.DispatchBatch(context.Background(), []ArticleCreated{{"a"}, {"b"}, {"c"}})
	// Output:
	// a
	// b
	// c
}

func ExampleDispatcher_ListenBatch() {
	d, _ := events.New[ArticleCreated](events.Config{})
	// One call for the whole batch: a listener that writes a row per event can write them all
	// in one statement.
	_ = d.ListenBatch("insert-all", func(_ context.Context, es []ArticleCreated) error {
		fmt.Println("insert", len(es), "rows")
		return nil
	})
	_ = d.DispatchBatch(context.Background(), []ArticleCreated{{"a"}, {"b"}, {"c"}})
	_ = d.Dispatch(context.Background(), ArticleCreated{"d"})
	// Output:
	// insert 3 rows
	// insert 1 rows
}

// memQueue stands in for the durable queue of libs/data.
type memQueue struct{ jobs []string }

func (q *memQueue) Enqueue(_ context.Context, listener string, e ArticleCreated) error {
	q.jobs = append(q.jobs, listener+"/"+e.Slug)
	return nil
}

func ExampleQueued() {
	q := &memQueue{}
	d, _ := events.New[ArticleCreated](events.Config{})
	_ = d.Listen("search-index", func(_ context.Context, e ArticleCreated) error {
		fmt.Println("indexing", e.Slug)
		return nil
	}, events.Queued[ArticleCreated](q))

	_ = d.Dispatch(context.Background(), ArticleCreated{Slug: "hello"})
	fmt.Println("queued:", q.jobs)
	// Later, in the worker, for each stored job:
	_ = d.Deliver(context.Background(), "search-index", ArticleCreated{Slug: "hello"})
	// Output:
	// queued: [search-index/hello]
	// indexing hello
}

func ExampleDispatcher_Deliver() {
	d, _ := events.New[ArticleCreated](events.Config{})
	_ = d.Listen("index", func(context.Context, ArticleCreated) error { return errors.New("search down") })
	err := d.Deliver(context.Background(), "index", ArticleCreated{Slug: "x"})
	fmt.Println(err) // the queue retries on error
	// Output: events: events_test.ArticleCreated listener "index": error: search down
}

func ExampleAsync() {
	r := &goRunner{}
	d, _ := events.New[ArticleCreated](events.Config{Runner: r})
	_ = d.Listen("mail", func(_ context.Context, e ArticleCreated) error {
		fmt.Println("mail about", e.Slug)
		return nil
	}, events.Async())
	ctx, cancel := context.WithCancel(context.Background())
	_ = d.Dispatch(ctx, ArticleCreated{Slug: "hello"})
	cancel() // the request is over; the async listener still runs
	_ = d.Close(context.Background())
	// Output: mail about hello
}

func ExampleWithTimeout() {
	d, _ := events.New[ArticleCreated](events.Config{MaxTimeout: time.Second})
	_ = d.Listen("slow", func(ctx context.Context, _ ArticleCreated) error {
		<-ctx.Done()
		return ctx.Err()
	}, events.WithTimeout(time.Millisecond))
	err := d.Dispatch(context.Background(), ArticleCreated{})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output: true
}

func ExampleGuarded() {
	d, _ := events.New[ArticleCreated](events.Config{})
	release := make(chan struct{})
	_ = d.Listen("stuck", func(context.Context, ArticleCreated) error {
		<-release // ignores its context
		return nil
	}, events.WithTimeout(time.Millisecond), events.Guarded())
	err := d.Dispatch(context.Background(), ArticleCreated{})
	var le *events.ListenerError
	fmt.Println(errors.As(err, &le) && le.Kind == events.KindTimeout)
	close(release)
	fmt.Println(d.Close(context.Background()))
	// Output:
	// true
	// <nil>
}

func ExampleDispatcher_Close() {
	d, _ := events.New[ArticleCreated](events.Config{})
	fmt.Println(d.Close(context.Background()))
	fmt.Println(d.Close(context.Background()))
	fmt.Println(errors.Is(d.Dispatch(context.Background(), ArticleCreated{}), events.ErrClosed))
	// Output:
	// <nil>
	// <nil>
	// true
}

func ExampleListenerError() {
	var got []string
	d, _ := events.New[ArticleCreated](events.Config{
		Name: "article.created",
		OnError: func(_ context.Context, le *events.ListenerError) {
			got = append(got, fmt.Sprintf("%s/%s", le.Listener, le.Kind))
		},
	})
	_ = d.Listen("a", func(context.Context, ArticleCreated) error { return errors.New("no") })
	_ = d.Dispatch(context.Background(), ArticleCreated{})
	fmt.Println(got)
	// Output: [a/error]
}

func ExampleConfigFrom() {
	s, _ := presets.Get("api")
	cfg := events.ConfigFrom(s)
	cfg.Name = "article.created"
	fmt.Println(cfg.DefaultTimeout, cfg.MaxTimeout, cfg.EnableDeadline)
	// Output: 5s 15s true
}

// Listeners that must not see a rolled-back change run after the commit: Defer holds them
// until the unit of work says how it ended.
func ExampleDefer() {
	d, _ := events.New[string](events.Config{Name: "article.published"})
	_ = d.Listen("flush-cache", func(_ context.Context, slug string) error {
		fmt.Println("flush", slug)
		return nil
	}, events.AfterCommit())
	_ = d.Listen("in-transaction", func(_ context.Context, slug string) error {
		fmt.Println("enqueue job for", slug)
		return nil
	})

	ctx, pending := events.Defer(context.Background())
	_ = d.Dispatch(ctx, "rolled-back")
	pending.Discard() // the transaction failed: nothing after-commit happens

	ctx, pending = events.Defer(context.Background())
	_ = d.Dispatch(ctx, "hello-world")
	fmt.Println("committing")
	_ = pending.Commit(context.Background())
	// Output:
	// enqueue job for rolled-back
	// enqueue job for hello-world
	// committing
	// flush hello-world
}
