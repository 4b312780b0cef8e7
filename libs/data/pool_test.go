package data

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/brisk-go/brisk/migrations"
)

func TestPoolLimits(t *testing.T) {
	t.Parallel()
	pg := max(8, 4*runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		name    string
		dialect string
		opts    Options
		want    limits
	}{
		{"postgres defaults are bounded and keep every connection", migrations.Postgres, Options{},
			limits{open: pg, idle: pg, lifetime: DefaultConnMaxLifetime, idleTime: DefaultConnMaxIdleTime}},
		{"sqlite defaults", migrations.SQLite, Options{},
			limits{open: 4, idle: 4, lifetime: DefaultConnMaxLifetime, idleTime: DefaultConnMaxIdleTime}},
		{"idle follows a set open limit", migrations.Postgres, Options{MaxOpenConns: 20},
			limits{open: 20, idle: 20, lifetime: DefaultConnMaxLifetime, idleTime: DefaultConnMaxIdleTime}},
		{"idle never above open", migrations.Postgres, Options{MaxOpenConns: 5, MaxIdleConns: 9},
			limits{open: 5, idle: 5, lifetime: DefaultConnMaxLifetime, idleTime: DefaultConnMaxIdleTime}},
		{"everything set", migrations.Postgres, Options{MaxOpenConns: 30, MaxIdleConns: 10, ConnMaxLifetime: time.Hour, ConnMaxIdleTime: time.Minute},
			limits{open: 30, idle: 10, lifetime: time.Hour, idleTime: time.Minute}},
		{"negative durations mean forever", migrations.Postgres, Options{ConnMaxLifetime: -1, ConnMaxIdleTime: -1},
			limits{open: pg, idle: pg}},
	} {
		if got := poolLimits(tc.dialect, tc.opts); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// After a burst that used every connection, all of them stay open for the next one: with
// database/sql's default of 2 idle connections the rest would be closed and dialled again
// (PostgreSQL runs when TEST_DATABASE_URL is set).
func TestOpenKeepsEveryConnectionIdle(t *testing.T) {
	t.Parallel()
	urls := map[string]string{migrations.SQLite: "sqlite://" + filepath.Join(t.TempDir(), "pool.db")}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls[migrations.Postgres] = u
	}
	for dialect, url := range urls {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, Options{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			n := DefaultMaxOpenConns(dialect)
			if got := db.Stats().MaxOpenConnections; got != n {
				t.Fatalf("MaxOpenConnections %d, want %d", got, n)
			}
			conns := make([]*sql.Conn, n)
			for i := range conns {
				if conns[i], err = db.DB.Conn(ctx); err != nil {
					t.Fatal(err)
				}
				if err := conns[i].PingContext(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range conns {
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if st := db.Stats(); st.Idle != n || st.MaxIdleClosed != 0 {
				t.Errorf("after a burst of %d: %d idle, %d closed for the idle limit; want %d and 0", n, st.Idle, st.MaxIdleClosed, n)
			}
		})
	}
}
