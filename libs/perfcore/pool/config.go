package pool

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Priority orders queued tasks: a worker always takes a queued High task
// before a Normal one and a Normal one before a Low one.
type Priority uint8

// The priorities. Normal is the zero value so that an unset priority means
// normal.
const (
	Normal Priority = iota
	High
	Low
	numPriorities
)

// String returns the lower-case name of the priority.
func (p Priority) String() string {
	switch p {
	case High:
		return "high"
	case Normal:
		return "normal"
	case Low:
		return "low"
	default:
		return fmt.Sprintf("priority(%d)", uint8(p))
	}
}

// applySubmit lets a Priority be passed directly as a SubmitOption:
// Submit(ctx, p, fn, pool.High).
func (p Priority) applySubmit(o submitOptions) submitOptions {
	o.prio = p
	return o
}

// FullPolicy says what Go and Submit do when the queue of their priority is
// full.
type FullPolicy uint8

// The full-queue policies.
const (
	// Block waits for room (Go waits until the pool stops; Submit and Map
	// also stop waiting when their context ends).
	Block FullPolicy = iota
	// FailFast returns ErrQueueFull at once.
	FailFast
)

// StopMode says what Stop does with tasks that are queued but not started.
type StopMode uint8

// The stop modes.
const (
	// Drain runs every queued task before the workers exit.
	Drain StopMode = iota
	// CancelQueued drops queued tasks: their futures resolve with
	// ErrStopped and plain Go tasks are not run. Running tasks finish.
	CancelQueued
)

// Config configures a Pool. Zero values of the numeric fields take the
// documented defaults; negative or contradictory values are errors.
type Config struct {
	// Name identifies the pool in metrics (attribute pool=<Name>) and logs.
	Name string
	// MinWorkers workers are started by Start and never exit for being
	// idle (GOROUTINE_MIN_WORKERS). 0 lets the pool shrink to no workers.
	MinWorkers int
	// MaxWorkers caps the worker goroutines (GOROUTINE_MAX_WORKERS).
	// Default runtime.GOMAXPROCS(0).
	MaxWorkers int
	// QueueSize bounds the global queue of each priority
	// (GOROUTINE_QUEUE_SIZE), rounded up to a power of two (at least 2). Default 1024.
	// Each priority has its own queue so that a flood of low-priority work
	// can never make a high-priority submission wait or fail.
	QueueSize int
	// IdleTimeout is how long a worker above the standing target waits
	// for work before it exits (GOROUTINE_IDLE_TIMEOUT). Default 30s.
	IdleTimeout time.Duration
	// WhenFull chooses between blocking and ErrQueueFull.
	WhenFull FullPolicy
	// OnStop chooses between draining and cancelling queued tasks.
	OnStop StopMode
	// MeterProvider receives the pool's instruments; nil uses the OTel
	// global provider.
	MeterProvider metric.MeterProvider
	// Logger receives panics of Go tasks and lifecycle events; nil uses
	// slog.Default().
	Logger *slog.Logger
	// Clock drives the idle timeout and the sampled wait/run timings; nil
	// uses the system clock.
	Clock Clock
}

const (
	defaultQueueSize   = 1024
	defaultIdleTimeout = 30 * time.Second
	maxQueueSize       = 1 << 24
)

// withDefaults validates c and fills in defaults. Errors name the field.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("Name must not be empty"))
	}
	if c.MinWorkers < 0 {
		errs = append(errs, fmt.Errorf("MinWorkers must be >= 0, got %d", c.MinWorkers))
	}
	if c.MaxWorkers < 0 {
		errs = append(errs, fmt.Errorf("MaxWorkers must be >= 0 (0 means GOMAXPROCS), got %d", c.MaxWorkers))
	}
	if c.MaxWorkers == 0 {
		c.MaxWorkers = max(runtime.GOMAXPROCS(0), c.MinWorkers)
	}
	if c.MinWorkers > c.MaxWorkers {
		errs = append(errs, fmt.Errorf("MinWorkers (%d) must be <= MaxWorkers (%d)", c.MinWorkers, c.MaxWorkers))
	}
	if c.QueueSize < 0 || c.QueueSize > maxQueueSize {
		errs = append(errs, fmt.Errorf("QueueSize must be in [0, %d] (0 means %d), got %d", maxQueueSize, defaultQueueSize, c.QueueSize))
	}
	if c.QueueSize == 0 {
		c.QueueSize = defaultQueueSize
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("IdleTimeout must be >= 0 (0 means %s), got %s", defaultIdleTimeout, c.IdleTimeout))
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = defaultIdleTimeout
	}
	if c.WhenFull > FailFast {
		errs = append(errs, fmt.Errorf("WhenFull must be Block or FailFast, got %d", c.WhenFull))
	}
	if c.OnStop > CancelQueued {
		errs = append(errs, fmt.Errorf("OnStop must be Drain or CancelQueued, got %d", c.OnStop))
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("pool: invalid config: %w", errors.Join(errs...))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c, nil
}

// Clock is the time source of a pool. Tests inject a fake one to drive
// idle timeouts without sleeping.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the pool uses.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration) bool
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time        { return t.t.C }
func (t sysTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
func (t sysTimer) Stop() bool                 { return t.t.Stop() }
