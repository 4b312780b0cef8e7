package repository_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
	"github.com/brisk-go/brisk/libs/perfcore/optimizer"
)

// Concurrent finds while a query is running leave together as one query; identical ids share
// a lookup; every caller gets its own row.
func TestFinderCoalescesConcurrentFinds(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	users := seedUsers(t, db, 6)
	f, err := repository.NewFinder[testUser](db, repository.FinderOptions{Batching: true, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the first query until every other caller has queued behind it.
	release := make(chan struct{})
	var fetchMu sync.Mutex
	var fetched [][]int64
	repository.SetBeforeFetch(f, func(ids []int64) {
		fetchMu.Lock()
		first := len(fetched) == 0
		fetched = append(fetched, append([]int64(nil), ids...))
		fetchMu.Unlock()
		if first {
			<-release
		}
	})

	type result struct {
		want int64
		got  *testUser
		err  error
	}
	results := make(chan result, 16)
	find := func(id int64) {
		u, err := f.Find(ctx, id)
		results <- result{id, u, err}
	}
	go find(users[0].ID)
	waitFor(t, func() bool { fetchMu.Lock(); defer fetchMu.Unlock(); return len(fetched) == 1 })
	// 10 callers, 5 distinct ids (one of them missing), twice each.
	later := []int64{users[1].ID, users[2].ID, users[3].ID, users[4].ID, 987654}
	for _, id := range later {
		go find(id)
		go find(id)
	}
	waitFor(t, func() bool { return f.Waiting() == 10 })
	close(release)

	var rows []*testUser
	for range 11 {
		r := <-results
		if r.want == 987654 {
			if !errors.Is(r.err, repository.ErrNotFound) {
				t.Fatalf("missing id: %v", r.err)
			}
			continue
		}
		if r.err != nil || r.got.ID != r.want {
			t.Fatalf("find %d: %+v, %v", r.want, r.got, r.err)
		}
		rows = append(rows, r.got)
	}
	queries, ids := f.Stats()
	if queries != 2 || ids != 6 || len(fetched) != 2 || len(fetched[1]) != 5 {
		t.Fatalf("queries %d carrying %d ids (%v), want 2 queries: the lone first, then the 5 distinct queued ids", queries, ids, fetched)
	}
	// Callers with the same id got separate copies.
	for i, a := range rows {
		for _, b := range rows[i+1:] {
			if a == b {
				t.Fatal("two callers share one *User")
			}
		}
	}
}

// A caller whose context ends stops waiting with its own error; the batch it was in still
// answers the others.
func TestFinderHonoursEachCallersContext(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	users := seedUsers(t, db, 3)
	f, err := repository.NewFinder[testUser](db, repository.FinderOptions{Batching: true, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	repository.SetBeforeFetch(f, func([]int64) {
		once.Do(func() { <-release })
	})
	firstDone := make(chan error, 1)
	go func() {
		_, err := f.Find(t.Context(), users[0].ID)
		firstDone <- err
	}()
	waitFor(t, func() bool { q, _ := f.Stats(); return q == 1 })

	impatient, cancel := context.WithCancel(t.Context())
	impatientDone := make(chan error, 1)
	go func() {
		_, err := f.Find(impatient, users[1].ID)
		impatientDone <- err
	}()
	patientDone := make(chan *testUser, 1)
	go func() {
		u, err := f.Find(t.Context(), users[1].ID)
		if err != nil {
			t.Error(err)
		}
		patientDone <- u
	}()
	waitFor(t, func() bool { return f.Waiting() == 2 })
	cancel()
	if err := <-impatientDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	if u := <-patientDone; u == nil || u.ID != users[1].ID {
		t.Fatalf("patient caller got %+v", u)
	}
}

// Off, and inside a transaction, a find is one direct query: nothing goes through the batch.
func TestFinderDirectWhenOffOrInATransaction(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	users := seedUsers(t, db, 2)
	f, err := repository.NewFinder[testUser](db, repository.FinderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Enabled() {
		t.Fatal("batching on by default")
	}
	if u, err := f.Find(ctx, users[0].ID); err != nil || u.ID != users[0].ID {
		t.Fatalf("direct find: %+v, %v", u, err)
	}
	if _, err := f.Find(ctx, 987654); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("direct find of a missing id: %v", err)
	}
	if q, _ := f.Stats(); q != 0 {
		t.Fatalf("batching off, yet %d batch queries", q)
	}

	f.SetEnabled(true)
	if u, err := f.FindIn(ctx, db, users[1].ID); err != nil || u.ID != users[1].ID {
		t.Fatalf("batched find on the finder's database: %+v, %v", u, err)
	}
	if q, _ := f.Stats(); q != 1 {
		t.Fatalf("FindIn on the finder's database made %d batch queries, want 1", q)
	}
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh := user(50)
		if err := repository.New[testUser]().Create(ctx, tx, &fresh); err != nil {
			return err
		}
		u, err := f.FindIn(ctx, tx, fresh.ID)
		if err != nil || u.ID != fresh.ID {
			t.Fatalf("find of the transaction's own row: %+v, %v", u, err)
		}
		return errors.New("roll back")
	})
	if err == nil || err.Error() != "roll back" {
		t.Fatal(err)
	}
	if q, _ := f.Stats(); q != 1 {
		t.Fatalf("a find inside a transaction went through the batch (%d batch queries)", q)
	}
}

// fakeLevels is an optimizer's level feed driven by the test.
type fakeLevels struct {
	mu    sync.Mutex
	level optimizer.Level
	subs  []func(from, to optimizer.Level)
}

func (f *fakeLevels) Level() optimizer.Level { f.mu.Lock(); defer f.mu.Unlock(); return f.level }
func (f *fakeLevels) Subscribe(fn func(from, to optimizer.Level)) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, fn)
	i := len(f.subs) - 1
	return func() { f.mu.Lock(); f.subs[i] = nil; f.mu.Unlock() }
}
func (f *fakeLevels) set(to optimizer.Level) {
	f.mu.Lock()
	from := f.level
	f.level = to
	subs := make([]func(from, to optimizer.Level), len(f.subs))
	copy(subs, f.subs)
	f.mu.Unlock()
	for _, fn := range subs {
		if fn != nil {
			fn(from, to)
		}
	}
}

func TestFollowOptimizer(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	f, err := repository.NewFinder[testUser](db, repository.FinderOptions{Batching: true})
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeLevels{level: optimizer.Conservative}
	stop := repository.FollowOptimizer(src, f)
	if f.Enabled() {
		t.Fatal("on at conservative")
	}
	for _, c := range []struct {
		level optimizer.Level
		on    bool
	}{{optimizer.Moderate, false}, {optimizer.Aggressive, true}, {optimizer.Maximum, true}, {optimizer.Moderate, false}, {optimizer.Aggressive, true}} {
		src.set(c.level)
		if f.Enabled() != c.on {
			t.Fatalf("at %s: batching %v, want %v", c.level, f.Enabled(), c.on)
		}
	}
	stop()
	src.set(optimizer.Conservative)
	if !f.Enabled() {
		t.Fatal("still following after stop")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
