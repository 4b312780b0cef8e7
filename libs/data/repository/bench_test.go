package repository_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
)

const benchRows = 1000

// benchDB is a PostgreSQL schema with benchRows users; the benchmarks compare against raw pgx,
// so they need TEST_DATABASE_URL.
func benchDB(b *testing.B) (url string, ids []int64) {
	b.Helper()
	if datatest.Dialect() != "postgres" {
		b.Skip("needs TEST_DATABASE_URL (the peer is raw pgx)")
	}
	db, url := datatest.NewWithURL(b)
	users := make([]testUser, benchRows)
	for i := range users {
		users[i] = user(i)
	}
	if err := repository.New[testUser]().CreateMany(context.Background(), db, users); err != nil {
		b.Fatal(err)
	}
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return url, ids
}

func openBench(b *testing.B, url string, conns int) *data.Options {
	b.Helper()
	return &data.Options{URL: url, MaxOpenConns: conns}
}

// cpuTime is the process's user+system CPU time so far. Per operation it shows what a path
// costs this process, which the load of other processes on a shared machine moves far less than
// wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs op b.N times and reports the CPU time per op besides the wall time.
func loop(b *testing.B, op func()) {
	cpu := cpuTime(b)
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
}

const userColumns = "id, username, email, password_hash, bio, image, created_at, updated_at"

func scanPgxUser(row interface{ Scan(...any) error }, u *testUser) error {
	return row.Scan(&u.ID, &u.Username, &u.Email, &u.PasswordHash, &u.Bio, &u.Image, &u.CreatedAt, &u.UpdatedAt)
}

// benchPeers is benchDB's database reached both ways: a pgx pool (the plain way) and Brisk's
// Bun database with 4 connections, and a request's context (cancellable, as every API
// call's is). All are closed when b ends.
func benchPeers(b *testing.B) (context.Context, *pgxpool.Pool, *bun.DB, []int64) {
	b.Helper()
	url, ids := benchDB(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	db, err := data.Open(ctx, *openBench(b, url, 4))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return ctx, pool, db, ids
}

// BenchmarkFindByID compares, one caller at a time, a find by primary key through raw pgx
// (pgxpool QueryRow, prepared and cached by pgx), Bun's query builder, and the repository's
// fast path; then the same for a batch of 100 ids.
func BenchmarkFindByID(b *testing.B) {
	ctx, pool, db, ids := benchPeers(b)
	repo := repository.New[testUser]()
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() int64 { return ids[rng.IntN(len(ids))] }
	batch := func() []int64 {
		out := make([]int64, 100)
		for i := range out {
			out[i] = pick()
		}
		return out
	}

	b.Run("one/pgx", func(b *testing.B) {
		loop(b, func() {
			var u testUser
			if err := scanPgxUser(pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", pick()), &u); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("one/database-sql", func(b *testing.B) {
		loop(b, func() {
			var u testUser
			if err := scanPgxUser(db.DB.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", pick()), &u); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("one/bun", func(b *testing.B) {
		loop(b, func() {
			if _, err := repo.BunFindByID(ctx, db, pick()); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("one/repository", func(b *testing.B) {
		loop(b, func() {
			if _, err := repo.FindByID(ctx, db, pick()); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("many100/pgx", func(b *testing.B) {
		loop(b, func() {
			rows, err := pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE id = ANY($1)", batch())
			if err != nil {
				b.Fatal(err)
			}
			out := make([]testUser, 0, 100)
			for rows.Next() {
				var u testUser
				if err := scanPgxUser(rows, &u); err != nil {
					b.Fatal(err)
				}
				out = append(out, u)
			}
			if rows.Err() != nil || len(out) == 0 {
				b.Fatal(rows.Err())
			}
		})
	})
	b.Run("many100/bun", func(b *testing.B) {
		loop(b, func() {
			if _, err := repo.BunFindByIDs(ctx, db, batch()); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("many100/repository", func(b *testing.B) {
		loop(b, func() {
			if _, err := repo.FindByIDs(ctx, db, batch()); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkConcurrentFind runs 1, 8, 64 and 256 goroutines doing Finder.Find on random ids,
// with batching off (every find is one query) and on, over one pool of 8 connections. ns/op is
// wall time per find across all callers: its inverse is the throughput.
func BenchmarkConcurrentFind(b *testing.B) {
	url, ids := benchDB(b)
	ctx := context.Background()
	db, err := data.Open(ctx, *openBench(b, url, 8))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, callers := range []int{1, 8, 64, 256} {
		for _, mode := range []string{"direct", "batched"} {
			b.Run(fmt.Sprintf("callers=%d/%s", callers, mode), func(b *testing.B) {
				f, err := repository.NewFinder[testUser](db, repository.FinderOptions{Batching: mode == "batched"})
				if err != nil {
					b.Fatal(err)
				}
				var next atomic.Int64
				var failed atomic.Value
				var wg sync.WaitGroup
				b.ResetTimer()
				start, cpu := time.Now(), cpuTime(b)
				for c := range callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// Callers are requests: their contexts carry a deadline, as the API's do.
						ctx, cancel := context.WithTimeout(ctx, time.Minute)
						defer cancel()
						rng := rand.New(rand.NewPCG(uint64(c), 7))
						for next.Add(1) <= int64(b.N) {
							if _, err := f.Find(ctx, ids[rng.IntN(len(ids))]); err != nil {
								failed.Store(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				queries, _ := f.Stats()
				if mode == "batched" {
					b.ReportMetric(float64(b.N)/float64(max(queries, 1)), "finds/query")
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "finds/s")
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// BenchmarkWrite compares create, update (bio only) and delete of one row, one caller at a time,
// through raw pgx and the repository: the rows of the original design document's database
// table that the find benchmarks do not cover. Delete removes rows made in a batch beforehand,
// outside the timer.
func BenchmarkWrite(b *testing.B) {
	ctx, pool, db, ids := benchPeers(b)
	repo := repository.New[testUser]()
	var seq atomic.Int64
	seq.Store(benchRows)
	next := func() testUser { return user(int(seq.Add(1))) }
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func() int64 { return ids[rng.IntN(len(ids))] }
	// made creates n rows outside the timer, for the deletes.
	made := func(b *testing.B, n int) []int64 {
		b.Helper()
		rows := make([]testUser, n)
		for i := range rows {
			rows[i] = next()
		}
		if err := repo.CreateMany(ctx, db, rows); err != nil {
			b.Fatal(err)
		}
		out := make([]int64, n)
		for i, r := range rows {
			out[i] = r.ID
		}
		return out
	}

	b.Run("create/pgx", func(b *testing.B) {
		loop(b, func() {
			u := next()
			if err := pool.QueryRow(ctx, "INSERT INTO users (username, email, password_hash, bio, image, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
				u.Username, u.Email, u.PasswordHash, u.Bio, u.Image, u.CreatedAt, u.UpdatedAt).Scan(&u.ID); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("create/repository", func(b *testing.B) {
		loop(b, func() {
			u := next()
			if err := repo.Create(ctx, db, &u); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("update/pgx", func(b *testing.B) {
		loop(b, func() {
			if _, err := pool.Exec(ctx, "UPDATE users SET bio = $1 WHERE id = $2", "bio", pick()); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("update/repository", func(b *testing.B) {
		loop(b, func() {
			u := testUser{ID: pick(), Bio: "bio"}
			if err := repo.Update(ctx, db, &u, "bio"); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("delete/pgx", func(b *testing.B) {
		b.StopTimer()
		victims := made(b, b.N)
		b.StartTimer()
		cpu := cpuTime(b)
		for _, id := range victims {
			if _, err := pool.Exec(ctx, "DELETE FROM users WHERE id = $1", id); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("delete/repository", func(b *testing.B) {
		b.StopTimer()
		victims := made(b, b.N)
		b.StartTimer()
		cpu := cpuTime(b)
		for _, id := range victims {
			if err := repo.Delete(ctx, db, id); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	})
}
