// Package batch sends the calls of concurrent goroutines together, without
// ever waiting to fill a batch: a call goes out at once unless MaxInFlight
// batches are already out, and then rides on the next one. At light load
// every call is a batch of one, with no added latency; under load one
// round trip carries many calls. The Go client batches ExecuteWorkflow
// calls this way (StartWorkflows) and the worker its reports (ReportTasks).
package batch

import (
	"context"
	"sync"
	"time"
)

// SendFunc sends one batch. It must set out[i] or errs[i] for every item;
// items it leaves alone succeed with the zero Out.
type SendFunc[In, Out any] func(ctx context.Context, items []In, out []Out, errs []error)

// Batcher queues calls and sends them with SendFunc. Senders are
// goroutines only while there is something to send, so an idle Batcher
// holds none. The zero value is not usable: use New.
type Batcher[In, Out any] struct {
	send        SendFunc[In, Out]
	maxInFlight int
	maxBatch    int
	timeout     time.Duration

	// OnQueue, when set (tests), is called with the queue's length each
	// time a call is queued.
	OnQueue func(n int)

	// Size, when set with MaxBytes, measures an item; a batch then holds
	// items of at most MaxBytes in all (or a single item of any size), so
	// that batching never makes a request too big for the server when
	// each of its items alone would fit. Set both before the first Do.
	Size     func(In) int
	MaxBytes int

	mu      sync.Mutex
	queue   []*call[In, Out]
	sending int
}

type call[In, Out any] struct {
	ctx  context.Context
	in   In
	size int // Size(in), measured once, before the lock
	out  Out
	err  error
	done chan struct{}
}

// New returns a Batcher that keeps at most maxInFlight batches of at most
// maxBatch calls out at once, and gives each send timeout.
func New[In, Out any](maxInFlight, maxBatch int, timeout time.Duration, send SendFunc[In, Out]) *Batcher[In, Out] {
	return &Batcher[In, Out]{send: send, maxInFlight: max(maxInFlight, 1), maxBatch: max(maxBatch, 1), timeout: timeout}
}

// Do queues in and returns its result, or ctx's error if ctx ends first
// (a ctx that has already ended queues nothing). A call that was queued is sent whatever happens to ctx afterwards (as a
// request already written would be), so a caller that gave up cannot tell
// whether it took effect; the batch is sent with ctx's values but not its
// cancellation, since it carries other callers' items too.
// limitsBytes reports whether batches are limited by size (Size and
// MaxBytes are both set).
func (b *Batcher[In, Out]) limitsBytes() bool { return b.Size != nil && b.MaxBytes > 0 }

func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	if err := ctx.Err(); err != nil {
		var zero Out
		return zero, err
	}
	c := &call[In, Out]{ctx: ctx, in: in, done: make(chan struct{})}
	if b.limitsBytes() {
		c.size = b.Size(in)
	}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := b.sending < b.maxInFlight
	if lead {
		b.sending++
	}
	n := len(b.queue)
	b.mu.Unlock()
	if b.OnQueue != nil {
		b.OnQueue(n)
	}
	if lead {
		go b.drain()
	}
	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// drain sends batches until nothing is queued, then gives up its slot.
func (b *Batcher[In, Out]) drain() {
	for {
		b.mu.Lock()
		n := b.take()
		if n == 0 {
			b.sending--
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		if len(b.queue) == 0 {
			b.queue = nil
		}
		b.mu.Unlock()
		b.sendBatch(batch)
	}
}

// take returns how many queued calls the next batch holds. b.mu is held.
func (b *Batcher[In, Out]) take() int {
	n := min(len(b.queue), b.maxBatch)
	if !b.limitsBytes() || n == 0 {
		return n
	}
	total := b.queue[0].size
	for i := 1; i < n; i++ {
		total += b.queue[i].size
		if total > b.MaxBytes {
			return i
		}
	}
	return n
}

func (b *Batcher[In, Out]) sendBatch(batch []*call[In, Out]) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), b.timeout)
	defer cancel()
	items := make([]In, len(batch))
	for i, c := range batch {
		items[i] = c.in
	}
	out := make([]Out, len(batch))
	errs := make([]error, len(batch))
	b.send(ctx, items, out, errs)
	for i, c := range batch {
		c.out, c.err = out[i], errs[i]
		close(c.done)
	}
}

// maxEachInFlight bounds the single calls SendEach has out at once.
const maxEachInFlight = 16

// SendEach sends every item on its own with one, concurrently (at most
// maxEachInFlight at once), filling out and errs. A SendFunc uses it when
// the server refuses the batch call itself: it predates it
// (Unimplemented), or the batch is over its request limit
// (ResourceExhausted) while each item alone fits.
func SendEach[In, Out any](ctx context.Context, items []In, out []Out, errs []error, one func(context.Context, In) (Out, error)) {
	sem := make(chan struct{}, maxEachInFlight)
	var wg sync.WaitGroup
	for i, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = one(ctx, it)
		})
	}
	wg.Wait()
}
