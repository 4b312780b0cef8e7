package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresBroadcast carries invalidations over PostgreSQL LISTEN/NOTIFY: the broadcast of a
// deployment that has PostgreSQL and no Redis. It holds one connection that listens and a
// small pool (two connections at most) that notifies.
type PostgresBroadcast struct {
	// DSN is the database URL (postgres://…), the one DATABASE_URL names.
	DSN string
	// Channel is the LISTEN channel (default "brisk_cache").
	Channel string
	// Timeout bounds one NOTIFY (default 1s).
	Timeout time.Duration
}

// Mode is "postgres".
func (PostgresBroadcast) Mode() string { return "postgres" }

// pgMaxPayload stays under NOTIFY's 8000-byte payload limit; a larger invalidation is sent as
// "drop everything".
const pgMaxPayload = 7900

func (pb PostgresBroadcast) open(ctx context.Context, env linkEnv) (link, error) {
	if pb.Channel == "" {
		pb.Channel = "brisk_cache"
	}
	if pb.Timeout <= 0 {
		pb.Timeout = time.Second
	}
	if pb.DSN == "" {
		return nil, errors.New("no DSN")
	}
	listen, err := pgx.ParseConfig(pb.DSN)
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	listen.RuntimeParams["application_name"] = "brisk-cache-listen"
	pc, err := pgxpool.ParseConfig(pb.DSN)
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	pc.MaxConns = 2
	pc.ConnConfig.RuntimeParams["application_name"] = "brisk-cache-notify"
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("notify pool: %w", err)
	}
	return &pgLink{listen: listen, pool: pool, channel: pb.Channel, timeout: pb.Timeout, recv: env.recv, done: make(chan struct{})}, nil
}

type pgLink struct {
	listen  *pgx.ConnConfig
	pool    *pgxpool.Pool
	channel string
	timeout time.Duration
	recv    receiver
	cancel  context.CancelFunc
	done    chan struct{}
}

func (l *pgLink) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(ctx)
}

func (l *pgLink) run(ctx context.Context) {
	defer close(l.done)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		connected, err := l.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			attempt = 0
		}
		l.recv.lost(err)
		if !sleepCtx(ctx, backoff(attempt, time.Second)) {
			return
		}
	}
}

// listenOnce connects, listens and delivers notifications until the connection fails.
func (l *pgLink) listenOnce(ctx context.Context) (bool, error) {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.ConnectConfig(dctx, l.listen.Copy())
	cancel()
	if err != nil {
		return false, fmt.Errorf("connect to listen: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second) // ctx may have ended
		_ = conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen %s: %w", l.channel, err)
	}
	l.recv.restored()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("wait for notification on %s: %w", l.channel, err)
		}
		l.recv.deliver([]byte(n.Payload))
	}
}

func (l *pgLink) publish(ctx context.Context, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	_, err := l.pool.Exec(ctx, "SELECT pg_notify($1, $2)", l.channel, string(payload))
	return err
}

func (l *pgLink) maxPayload() int { return pgMaxPayload }

func (l *pgLink) stop() error {
	l.cancel()
	<-l.done
	l.pool.Close()
	return nil
}
