package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/perfcore/events"
	"github.com/brisk-go/brisk/libs/perfcore/mempool"
)

type txKey struct{}

// WithTx carries tx in ctx, so that queued listeners reached from a service's transaction
// insert their jobs in it.
func WithTx(ctx context.Context, tx bun.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction WithTx put in ctx.
func TxFrom(ctx context.Context) (bun.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(bun.Tx)
	return tx, ok
}

// EventArgs is the job of one queued listener call.
type EventArgs struct {
	Event    string          `json:"event"`
	Listener string          `json:"listener"`
	Payload  json.RawMessage `json:"payload"`
}

// Kind implements river.JobArgs.
func (EventArgs) Kind() string { return "event" }

// EventQueuer is perfcore's events.Queuer on this queue: Enqueue stores the listener call as an
// "event" job, in the transaction carried by ctx (WithTx) when there is one.
type EventQueuer[T any] struct {
	Queue *Queue
	Event string // the name EventWorker knows the event by
	Opts  *river.InsertOpts
}

var _ events.Queuer[struct{}] = EventQueuer[struct{}]{}

// Enqueue implements events.Queuer.
func (e EventQueuer[T]) Enqueue(ctx context.Context, listener string, ev T) error {
	payload, err := mempool.AppendJSON(nil, ev)
	if err != nil {
		return fmt.Errorf("jobs: encode %s event for %s: %w", e.Event, listener, err)
	}
	args := EventArgs{Event: e.Event, Listener: listener, Payload: payload}
	if tx, ok := TxFrom(ctx); ok {
		_, err = e.Queue.InsertTx(ctx, tx, args, e.Opts)
	} else {
		_, err = e.Queue.Insert(ctx, args, e.Opts)
	}
	return err
}

// EventWorker works "event" jobs by handing them to the dispatcher of their event.
type EventWorker struct {
	river.WorkerDefaults[EventArgs]
	mu      sync.RWMutex
	deliver map[string]func(ctx context.Context, listener string, payload []byte) error
}

// NewEventWorker returns a worker with no events; add them with HandleEvents.
func NewEventWorker() *EventWorker {
	return &EventWorker{deliver: map[string]func(context.Context, string, []byte) error{}}
}

// HandleEvents makes w deliver jobs of the named event to d's listeners.
func HandleEvents[T any](w *EventWorker, event string, d *events.Dispatcher[T]) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deliver[event] = func(ctx context.Context, listener string, payload []byte) error {
		var ev T
		if err := json.Unmarshal(payload, &ev); err != nil {
			// A payload that cannot be decoded never will be: no retries.
			return river.JobCancel(fmt.Errorf("decode %s event: %w", event, err))
		}
		return d.Deliver(ctx, listener, ev)
	}
}

// Work implements river.Worker.
func (w *EventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	w.mu.RLock()
	f := w.deliver[job.Args.Event]
	w.mu.RUnlock()
	if f == nil {
		return fmt.Errorf("jobs: no dispatcher for event %q in this worker", job.Args.Event)
	}
	return f(ctx, job.Args.Listener, job.Args.Payload)
}
