package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sundial-dev/sundial/internal/testsync"
)

// gatedSend records each batch and holds the first `hold` until release
// closes; item "fail" gets an error, others their doubled value.
type gatedSend struct {
	hold    int
	entered chan struct{}
	release chan struct{}

	mu      sync.Mutex
	batches [][]int
}

func (g *gatedSend) send(ctx context.Context, items []int, out []int, errs []error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(items))
	held := len(g.batches) <= g.hold
	g.mu.Unlock()
	if held {
		g.entered <- struct{}{}
		<-g.release
	}
	for i, v := range items {
		if v < 0 {
			errs[i] = fmt.Errorf("item %d refused", v)
			continue
		}
		out[i] = 2 * v
	}
}

func TestCallsQueueWhileBatchesAreOut(t *testing.T) {
	t.Parallel()
	const inFlight, maxBatch = 2, 4
	g := &gatedSend{hold: inFlight, entered: make(chan struct{}, inFlight), release: make(chan struct{})}
	b := New(inFlight, maxBatch, time.Second, g.send)
	queued := make(chan int, 100)
	b.OnQueue = func(n int) { queued <- n }

	type result struct {
		in, out int
		err     error
	}
	results := make(chan result, 20)
	do := func(v int) {
		out, err := b.Do(context.Background(), v)
		results <- result{v, out, err}
	}
	for i := range inFlight {
		go do(100 + i)
		testsync.Recv(t, g.entered, "a held batch")
		testsync.Recv(t, queued, "a queued call")
	}
	// Six more: they queue behind the held batches and go out in batches
	// of at most maxBatch. One of them fails on its own.
	more := []int{1, 2, -3, 4, 5, 6}
	for _, v := range more {
		go do(v)
	}
	for n := 0; n < len(more); {
		n = testsync.Recv(t, queued, "a queued call")
	}
	close(g.release)
	for range inFlight + len(more) {
		r := testsync.Recv(t, results, "a result")
		switch {
		case r.in < 0:
			if r.err == nil || r.out != 0 {
				t.Errorf("item %d = %d, %v; want its own error", r.in, r.out, r.err)
			}
		case r.err != nil || r.out != 2*r.in:
			t.Errorf("item %d = %d, %v; want %d", r.in, r.out, r.err, 2*r.in)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var sizes []int
	for _, bt := range g.batches {
		sizes = append(sizes, len(bt))
	}
	slices.Sort(sizes)
	if want := []int{1, 1, 2, 4}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

func TestEndedContextSendsNothing(t *testing.T) {
	t.Parallel()
	g := &gatedSend{}
	b := New(2, 100, time.Second, g.send)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Do(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do with an ended context = %v, want context.Canceled", err)
	}
	if len(g.batches) != 0 {
		t.Errorf("%d batches sent for an ended context, want 0", len(g.batches))
	}
}

// TestBatchesStayUnderMaxBytes: queued items go out in batches of at
// most MaxBytes, and an item bigger than that goes alone.
func TestBatchesStayUnderMaxBytes(t *testing.T) {
	t.Parallel()
	g := &gatedSend{hold: 1, entered: make(chan struct{}, 1), release: make(chan struct{})}
	b := New(1, 100, time.Second, g.send)
	b.Size, b.MaxBytes = func(v int) int { return v }, 10
	queued := make(chan int, 100)
	b.OnQueue = func(n int) { queued <- n }
	results := make(chan error, 10)
	do := func(v int) {
		_, err := b.Do(context.Background(), v)
		results <- err
	}
	go do(1)
	testsync.Recv(t, g.entered, "the held batch")
	testsync.Recv(t, queued, "the first call")
	// Queued in this order: 4+4 fit, +4 would not; 30 goes alone; 3+3.
	for _, v := range []int{4, 4, 4, 30, 3, 3} {
		go do(v)
		testsync.Recv(t, queued, "a queued call")
	}
	close(g.release)
	for range 7 {
		if err := testsync.Recv(t, results, "a result"); err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, bt := range g.batches {
		sum := 0
		for _, v := range bt {
			sum += v
		}
		if sum > 10 && len(bt) > 1 {
			t.Errorf("batch %v holds %d bytes, over the limit of 10", bt, sum)
		}
	}
	if len(g.batches) != 5 {
		t.Errorf("batches %v, want 5: [1] [4 4] [4] [30] [3 3]", g.batches)
	}
}

func TestLightLoadSendsEachCallAlone(t *testing.T) {
	t.Parallel()
	g := &gatedSend{}
	b := New(2, 100, time.Second, g.send)
	for i := range 5 {
		if out, err := b.Do(context.Background(), i); err != nil || out != 2*i {
			t.Fatalf("Do(%d) = %d, %v", i, out, err)
		}
	}
	if len(g.batches) != 5 {
		t.Errorf("%d batches for 5 sequential calls, want 5", len(g.batches))
	}
}

// TestCallerGivingUpStillSends: a caller whose context ends gets its
// error at once, but its queued item is sent, and the batch's context
// keeps the caller's values without its cancellation.
func TestCallerGivingUpStillSends(t *testing.T) {
	t.Parallel()
	type key struct{}
	type sendCtx struct {
		err         error
		value       any
		hasDeadline bool
	}
	sent := make(chan sendCtx, 1)
	release := make(chan struct{})
	b := New(1, 10, time.Second, func(ctx context.Context, items []string, out []string, errs []error) {
		<-release
		_, ok := ctx.Deadline()
		sent <- sendCtx{ctx.Err(), ctx.Value(key{}), ok}
	})
	queued := make(chan int, 1)
	b.OnQueue = func(n int) { queued <- n }
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	done := make(chan error, 1)
	go func() { _, err := b.Do(ctx, "x"); done <- err }()
	testsync.Recv(t, queued, "the call to queue")
	cancel()
	if err := testsync.Recv(t, done, "the caller to give up"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do after cancel = %v, want context.Canceled", err)
	}
	close(release)
	sc := testsync.Recv(t, sent, "the item to be sent")
	if sc.err != nil || sc.value != "v" || !sc.hasDeadline {
		t.Errorf("send context: err %v, value %v, deadline %v; want live, with the caller's value and a deadline", sc.err, sc.value, sc.hasDeadline)
	}
}
