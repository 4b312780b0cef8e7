package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBroadcast carries invalidations over Redis pub/sub. The zero value uses the Redis of
// the cache it is given to (the usual set-up: REDIS_URL).
type RedisBroadcast struct {
	// URL of the Redis to publish on; empty uses Client, or the cache's own Redis.
	URL string
	// Client, when set, is used as is and not closed.
	Client *redis.Client
	// Channel is the pub/sub channel (default "brisk:cache:invalidate"). Pub/sub channels are
	// global to a Redis server, whatever the database index: caches that must not share
	// invalidations need different channels.
	Channel string
	// Heartbeat is how long the subscription may stay silent before it is pinged; a ping not
	// answered within as long again counts as a lost connection (default 1s).
	Heartbeat time.Duration
	// Timeout bounds dialing and publishing on a client made from URL (default 250ms).
	Timeout time.Duration
}

// Mode is "redis".
func (RedisBroadcast) Mode() string { return "redis" }

func (rb RedisBroadcast) open(_ context.Context, env linkEnv) (link, error) {
	if rb.Channel == "" {
		rb.Channel = "brisk:cache:invalidate"
	}
	if rb.Heartbeat <= 0 {
		rb.Heartbeat = time.Second
	}
	if rb.Timeout <= 0 {
		rb.Timeout = 250 * time.Millisecond
	}
	l := &redisLink{channel: rb.Channel, heartbeat: rb.Heartbeat, recv: env.recv, done: make(chan struct{})}
	switch {
	case rb.Client != nil:
		l.rdb = rb.Client
	case rb.URL != "":
		ro, err := redis.ParseURL(rb.URL)
		if err != nil {
			return nil, fmt.Errorf("redis broadcast URL: %w", err)
		}
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = rb.Timeout, rb.Timeout, rb.Timeout, rb.Timeout
		ro.MaxRetries, ro.DialerRetries = -1, 1
		l.rdb, l.own = redis.NewClient(ro), true
	case env.rdb != nil:
		l.rdb, l.down = env.rdb, env.rdbDown
	default:
		return nil, errors.New("no Redis: set RedisBroadcast.URL or use a Redis cache")
	}
	return l, nil
}

type redisLink struct {
	rdb       *redis.Client
	own       bool
	down      func() bool // the cache's driver is cooling down on this client (nil: not shared)
	channel   string
	heartbeat time.Duration
	recv      receiver

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	ps     *redis.PubSub // the current subscription, closed by stop to unblock a read
}

func (l *redisLink) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(ctx)
}

func (l *redisLink) run(ctx context.Context) {
	defer close(l.done)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		ps := l.rdb.Subscribe(ctx, l.channel)
		l.mu.Lock()
		l.ps = ps
		l.mu.Unlock()
		connected, err := l.receive(ctx, ps)
		_ = ps.Close()
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

// receive reads the subscription until it fails; connected says whether it got as far as
// being subscribed.
func (l *redisLink) receive(ctx context.Context, ps *redis.PubSub) (connected bool, err error) {
	pinged := false
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, l.heartbeat)
		if err != nil {
			var ne net.Error
			if connected && !pinged && errors.As(err, &ne) && ne.Timeout() {
				l.recv.idle()
				if err := ps.Ping(ctx); err != nil {
					return connected, fmt.Errorf("ping the subscription: %w", err)
				}
				pinged = true
				continue
			}
			return connected, fmt.Errorf("receive on %s: %w", l.channel, err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && !connected {
				connected = true
				l.recv.restored()
			}
		case *redis.Message:
			l.recv.deliver([]byte(m.Payload))
		}
	}
	return connected, ctx.Err()
}

func (l *redisLink) publish(ctx context.Context, payload []byte) error {
	if l.down != nil && l.down() {
		return ErrUnavailable // the pending "drop everything" goes out once Redis answers
	}
	return l.rdb.Publish(ctx, l.channel, payload).Err()
}

func (l *redisLink) maxPayload() int { return 0 }

func (l *redisLink) stop() error {
	l.cancel()
	l.mu.Lock()
	if l.ps != nil {
		_ = l.ps.Close()
	}
	l.mu.Unlock()
	<-l.done
	if l.own {
		return l.rdb.Close()
	}
	return nil
}
